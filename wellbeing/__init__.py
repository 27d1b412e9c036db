"""Agent wellbeing: emotional load, break rules, planner and the routing queue.

Public interface (the only things other packages may use): see `wellbeing.services`.
"""
