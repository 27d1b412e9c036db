"""How long each CRM event field that followup stores may be: the narrowest column it lands in. intake validates
events against these (and wellbeing's), so the door and the database never disagree."""
from __future__ import annotations

from aftercare.core.db import column_length
from followup.models import Case, CheckIn, Customer, Interaction, OptOut
from followup.outcome_models import ChurnEvent, ContactEvent
from followup.problem_models import KnownProblem

STORED_LENGTHS: dict[str, int] = {
    "event_id": column_length(Interaction.event_id, ContactEvent.event_id, ChurnEvent.event_id),
    "interaction.id": column_length(Interaction.id),
    "interaction.case_id": column_length(Case.id),
    "interaction.journey_stage": column_length(Interaction.journey_stage, Case.journey_stage),
    "interaction.category": column_length(Interaction.category, Case.category),
    "agent.id": column_length(Interaction.agent_id, Case.agent_id),
    "agent.name": column_length(Interaction.agent_name, Case.agent_name),
    "agent.team": column_length(Interaction.team, Case.team),
    "customer.id": column_length(Customer.id, ContactEvent.customer_id, ChurnEvent.customer_id),
    "customer.name": column_length(Customer.name),
    "customer.phone": column_length(Customer.phone, CheckIn.address),
    "customer.email": column_length(Customer.email, CheckIn.address, OptOut.address),
    "customer.timezone": column_length(Customer.timezone),
    "customer.locale": column_length(Customer.locale, CheckIn.locale),
    "case.id": column_length(Case.id, ContactEvent.case_id),
    "contact.journey_stage": column_length(ContactEvent.journey_stage),
    "contact.category": column_length(ContactEvent.category),
    "root_cause": column_length(Case.root_cause),
    "problem.id": column_length(KnownProblem.id),
    "problem.title": column_length(KnownProblem.title),
    "problem.category": column_length(KnownProblem.category, Case.category),
    "problem.journey_stage": column_length(KnownProblem.journey_stage, Case.journey_stage),
}
