"""CRM and help-desk event intake: verify, validate, then act on each event (inline) or store it for the workers
(queued). It sits above followup and wellbeing and drives both through their `services`."""
