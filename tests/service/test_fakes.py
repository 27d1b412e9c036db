"""Each fake adapter implements the Protocol its real counterparts do."""
from followup.channels import Channel
from followup.crm import CrmAdapter
from tests.support.unit_of_work import RecordingChannel, RecordingCrm, RecordingRouting
from wellbeing.routing.base import RoutingAdapter


def test_fakes_implement_the_protocols():
    assert isinstance(RecordingChannel(), Channel)
    assert isinstance(RecordingCrm(), CrmAdapter)
    assert isinstance(RecordingRouting(), RoutingAdapter)
