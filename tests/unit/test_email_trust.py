"""Who may act on a case by email (SPEC §8): a valid reply token, or SendGrid's SPF/DKIM verdicts vouching for
the sender's domain. Pure: the fields as SendGrid's Inbound Parse posts them, no database.

Shapes of SendGrid's verdicts used below, as SendGrid posts them:
- `dkim` "{@gmail.com : pass}", `SPF` "pass", `envelope` {"to":[…],"from":"random@gmail.com"} with
  `from` "Rakin Uddin <random@gmail.com>": sendgrid/sendgrid-python,
  examples/inbound-webhook-parsing/example-webhook-payload.txt.
- `dkim` "{@glennhotel-com.20150623.gappssmtp.com : pass}" (Google Workspace signing with its own domain, not
  the sender's) and "none" (no signature): sendgrid/docs issue #1991.
- `dkim` "{@XXX : invalid (public key: invalid data\n at /opt/perl/…" (a verifier error): sendgrid/docs
  issue #6483.
- several signatures, "{@a.com : pass, @b.com : fail}": dust-tt/dust pull request #23318 (parsing them).
"""
import json

import pytest

from followup.inbound_email import dkim_results, domains_aligned, reply_sender, reply_trust

SENDGRID_EXAMPLE = {"from": "Rakin Uddin <random@gmail.com>", "dkim": "{@gmail.com : pass}", "SPF": "pass",
                    "envelope": '{"to":["test@rakinu.com"],"from":"random@gmail.com"}'}
GAPPS = "{@glennhotel-com.20150623.gappssmtp.com : pass}"
VERIFIER_ERROR = ("{@XXX : invalid (public key: invalid data\n at /opt/perl/lib/site_perl/5.10.1/Mail/DKIM/"
                  "PublicKey.pm line 186, <> line 10820.\n")


def trust(sender: str, *, spf: str | None = None, dkim: str | None = None, envelope_from: str | None = None,
          token: bool = False):
    envelope = json.dumps({"to": ["care@in.acme.example"], "from": envelope_from}) if envelope_from else None
    return reply_trust(token_matched=token, from_header=sender, spf=spf, dkim=dkim, envelope_json=envelope)


def test_sendgrids_own_example_is_trusted_by_dkim():
    verdict = reply_trust(token_matched=False, from_header=SENDGRID_EXAMPLE["from"], spf=SENDGRID_EXAMPLE["SPF"],
                          dkim=SENDGRID_EXAMPLE["dkim"], envelope_json=SENDGRID_EXAMPLE["envelope"])
    assert verdict.trusted and verdict.reason == "DKIM pass for gmail.com"


def test_a_valid_reply_token_is_enough_whatever_the_sender():
    verdict = trust("anyone@anywhere.example", spf="fail", dkim="none", token=True)
    assert verdict.trusted and verdict.reason == "valid reply token"


@pytest.mark.parametrize("sender,spf,dkim,envelope_from", [
    ("Sam <sam@example.com>", None, None, None),                                   # nothing: the header alone
    ("Sam <sam@example.com>", "none", "none", "sam@example.com"),                  # unsigned, no SPF record
    ("Sam <sam@example.com>", "softfail", "none", "sam@example.com"),
    ("Sam <sam@example.com>", "fail", "{@example.com : fail}", "sam@example.com"),
    ("Sam <sam@example.com>", "none", "{@attacker.example : pass}", "x@attacker.example"),  # a pass, another domain
    ("Sam <sam@example.com>", "pass", "none", "bounce@attacker.example"),          # SPF pass for another domain
    ("Sam <sam@glennhotel.com>", "none", GAPPS, None),                              # Google's domain, not the sender's
    ("Sam <sam@example.com>", "none", VERIFIER_ERROR, None),                        # an error is not a pass
    ("Sam <sam@example.com>", "PASS-ish", "{@example.com: passed}", None),          # not SendGrid's words
    ("Sam <sam@example.co.uk>", "none", "{@co.uk : pass}", None),                  # a public suffix vouches for none
    ("Sam <sam@a.github.io>", "none", "{@b.github.io : pass}", None),              # neighbours on a shared suffix
])
def test_unverified_senders_are_not_trusted(sender, spf, dkim, envelope_from):
    verdict = trust(sender, spf=spf, dkim=dkim, envelope_from=envelope_from)
    assert not verdict.trusted and verdict.reason.startswith("sender not verified: no DKIM or SPF pass for ")


@pytest.mark.parametrize("sender,spf,dkim,envelope_from,reason", [
    ("Sam <sam@example.com>", "softfail", "{@example.com : pass}", None, "DKIM pass for example.com"),
    ("Sam <sam@example.com>", "none", "{@esp.example : pass, @example.com : pass}", None,
     "DKIM pass for example.com"),
    ("Sam <sam@example.com>", "none", "{@esp.example : fail, @mail.example.com : pass}", None,
     "DKIM pass for mail.example.com"),                                             # DMARC relaxed alignment
    ("Sam <SAM@Example.COM>", "none", "{@example.com : pass}", None, "DKIM pass for example.com"),
    ("Sam <sam@example.com>", "pass", "none", "sam@example.com", "SPF pass for example.com"),
    ("Sam <sam@example.com>", "pass", "none", "bounces+123@mail.example.com", "SPF pass for mail.example.com"),
    ("Sam <sam@bücher.example>", "none", "{@xn--bcher-kva.example : pass}", None,
     "DKIM pass for xn--bcher-kva.example"),
])
def test_senders_vouched_for_by_their_domain_are_trusted(sender, spf, dkim, envelope_from, reason):
    verdict = trust(sender, spf=spf, dkim=dkim, envelope_from=envelope_from)
    assert verdict.trusted and verdict.reason == reason


@pytest.mark.parametrize("sender", [
    '"sam@example.com" <x@example.com>',             # an address as display name: which one does a client show?
    "sam@example.com, x@attacker.example",
    "",
    "Sam",
    "Sam <sam@localhost>",
])
def test_a_from_header_that_is_not_exactly_one_usable_address_is_never_vouched_for(sender):
    assert not trust(sender, spf="pass", dkim="{@example.com : pass}", envelope_from="sam@example.com").trusted


def test_the_reason_says_what_sendgrid_saw():
    reason = trust("Sam <sam@example.com>", spf="softfail", dkim="{@attacker.example : pass}",
                   envelope_from="b@attacker.example").reason
    assert reason == ("sender not verified: no DKIM or SPF pass for example.com "
                      "(DKIM: attacker.example pass; SPF: softfail for attacker.example)")


@pytest.mark.parametrize("dkim,expected", [
    ("{@gmail.com : pass}", [("gmail.com", "pass")]),
    ("{@a.com : pass, @b.com : fail}", [("a.com", "pass"), ("b.com", "fail")]),
    ("none", []), ("", []), (None, []), ("{}", []),
    (VERIFIER_ERROR, []),
    ("{@Example.COM. : PASS}", [("example.com", "pass")]),
])
def test_dkim_results_read_sendgrids_field(dkim, expected):
    assert dkim_results(dkim) == expected


@pytest.mark.parametrize("authenticated,sender,aligned", [
    ("example.com", "example.com", True), ("mail.example.com", "example.com", True),
    ("example.com", "eu.example.com", True), ("example.co.uk", "shop.example.co.uk", True),
    ("co.uk", "example.co.uk", False), ("sendgrid.net", "example.com", False),
    ("a.github.io", "b.github.io", False), ("example.com", "example.org", False),
])
def test_domains_aligned_is_dmarc_relaxed_alignment(authenticated, sender, aligned):
    assert domains_aligned(authenticated, sender) is aligned


@pytest.mark.parametrize("from_header,envelope,expected", [
    ("Sam Carter <Sam@Example.com>", None, "sam@example.com"),
    ("", '{"from": "bounce@example.com"}', "bounce@example.com"),
    ("", '{"from": ["not", "a string"]}', ""),
    ("", "[" * 100_000, ""),                                                         # no RecursionError
])
def test_reply_sender(from_header, envelope, expected):
    assert reply_sender(from_header, envelope) == expected


def test_a_from_header_nesting_comments_past_the_recursion_limit_is_no_address():
    """The stdlib address parser recurses once per "(": such a header used to end the request in a 500."""
    nested = "(" * 5000 + "sam@example.com"
    assert reply_sender(nested, '{"from": "bounce@example.com"}') == "bounce@example.com"
    assert not reply_trust(token_matched=False, from_header=nested, spf="pass", dkim="{@example.com : pass}",
                           envelope_json=None).trusted
