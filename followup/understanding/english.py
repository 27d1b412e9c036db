"""English reader: the cues of a reply (negation, unresolved state, fixes, plans, thanks…), with their offsets.

Rules are about how people write to a support desk, in any domain: no product, brand or device names.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from followup.understanding.cues import Cues, demote_contrasted_fixes

log = logging.getLogger(__name__)
SENTIMENT_CHARS = 600  # VADER's time grows with the square of the length


@lru_cache(maxsize=1)
def analyzer() -> SentimentIntensityAnalyzer:
    """Built on first use (it reads its lexicons from disk), then shared."""
    return SentimentIntensityAnalyzer()


def _rx(pattern: str) -> re.Pattern[str]:
    """Rules read lower-cased text (case-insensitive matching is several times slower)."""
    return re.compile(pattern)


TOKEN = _rx(r"[a-z0-9]+(?:'[a-z]+)?")
CHUNK = _rx(r"(?:[^.!?;\n…]|\.(?=\d))+[.!?;\n…]*")  # sentences; "version 3.1" is one
_CONTRAST = _rx(r"\b(?:but|however|though|although|except|yet|unfortunately|sadly)\b")
_TURNED = _rx(r"\b(?:now|again|then|after|since|once|finally|eventually|today|this time|at last|anymore)\b")
_CHURN = _rx(r"\b(?:cancel+(?:ing|ed)?|unsubscrib\w*|leaving|quitting|switch\w* to|going back to|moving to|"
             r"done with)\b[^.!?]*\b(?:subscription|premium|account|plan|membership|service|you guys|your)\b"
             r"|\bi'?m\s+(?:unsubscribing|cancell?ing|leaving|switching)\b|#\w*switch\w*")

_NEGATORS = {"not", "no", "never", "nothing", "neither", "nor", "none", "nobody", "cannot", "without", "cant",
             "dont", "doesnt", "didnt", "wont", "isnt", "wasnt", "arent", "werent", "havent", "hasnt", "couldnt",
             "wouldnt", "aint", "nope", "nah"}
_FUNCTION = set(
    "work works worked working fix fixed fixes help helped helps helping helpful resolve resolved solve solved "
    "play plays played playing load loads loaded loading connect connects connected sync synced download "
    "downloaded downloading open opens opened show shows showing appear appears start starts started respond "
    "responding change changed changes find found see seen log login sign hear read listen answer reply stream "
    "arrive arrived came come deliver delivered receive received get got refund refunded run runs running "
    "streaming luck avail difference improvement solution sound audio option install installs installed update "
    "updates updated upgrade boot boots launch launches begin begins print prints save saves send sends accept "
    "accepts let lets allow allows verify activate activates unlock unlocks charge pay process processed".split())
_NOT_VERBS = {"something", "nothing", "anything", "everything", "thing", "things", "morning", "evening", "during",
              "bring", "string", "setting", "settings", "king", "ring", "spring", "looking", "ignoring", "complaining",
              "blaming", "joking", "kidding", "worrying", "rushing", "asking", "saying"}  # "not ignoring it" is no problem
_NO_WORRIES = {"worries", "worry", "problem", "problems", "prob", "probs", "issues", "need"}  # "no" that is not a no
_FIXED_WORDS = {"works", "worked", "working", "fixed", "sorted", "solved", "resolved", "helped", "functional",
                "operational"}
_FUTURE = {"hope", "hopefully", "wish", "once", "until", "when", "if", "will", "would", "should", "could", "need",
           "want", "get", "gets", "getting", "might", "may", "to"}
_COMPARE = {"on", "with", "w", "without", "from", "in", "for", "when", "if", "through", "via", "elsewhere",
            "everywhere", "except", "apart", "outside", "other"}
_FIXED_PHRASE = _rx(r"\b(?:all (?:good|set|sorted|fixed|working|well)|did the trick|does the trick|back to normal|"
                    r"up and running|good now|fine now|just what i needed|"
                    r"problem solved|got it (?:to )?work\w*|sorted now|"
                    r"worked a treat|(?:that|this|it) (?:did it|did the job|does the job)|(?:is|are|'re|'s|its) back(?: now)?|back now|figured it out|found it|"
                    r"worked it out|never ?mind|all is (?:well|good|fine)|(?:a|just a) (?:fluke|one[- ]off)|"
                    r"(?:problem|issue|error|bug)s? (?:is |are |has |have |seems? (?:to be )?)?(?:been |now )?"
                    r"(?:gone|fixed|resolved|solved|sorted)|"
                    r"(?:fixes|fixed|solves|solved|resolves|resolved) (?:the|this|that|my|our) (?:\w+ )?"
                    r"(?:issue|problem|bug|crash|error)s?(?= for me| for us| here|\s*[.!]|\s*$)|"
                    r"(?:is|are|'s|its) (?:ok|okay|alright) now|"
                    r"(?:and|then|now) (?:it|everything|all|that)(?:'s| is| was| were) (?:ok|okay|fine|good|alright)\b|"
                    r"that answers it|i (?:just )?got it|i received|"
                    r"(?:i |i'?ve |just )(?:got|received|have received) (?:the|my|a|your) (?:new )?(?:refund|money|"
                    r"replacement|key|code|licen[cs]e|e-?mail|invoice|receipt|package|parcel|order|item|link|access)|"
                    r"(?:refund|money|credit|payment)s? (?:has |have |was |were |is |are )?(?:been |now )?"
                    r"(?:processed|refunded|credited|returned|received|back|gone through|went through)(?! twice)|"
                    r"(?:charge|debit|transaction|hold)s? (?:has |have |was |were |is |are )?(?:been |now )?"
                    r"(?:reversed|refunded|voided|removed|cancell?ed|dropped|gone)|"
                    r"i can (?:now |finally )(?:log ?in|login|sign in|access|use|open|see|download|connect|activate|"
                    r"print|play|watch|read|install|pay|purchase|check ?out)|"
                    r"i can (?:log ?in|login|sign in|access|use|open|see|download|connect|activate|print|play|watch|"
                    r"read|install|pay|purchase|check ?out)\b[^.!?,;]{0,30}?\b(?:now|again)|"
                    r"(?:has|have) (?:been )?(?:arrived|received|posted|credited|refunded|unlocked|restored)|"
                    r"(?:works|working|runs|running) (?:fine|great|perfectly|correctly|properly|well|smoothly) now|"
                    r"can confirm|confirmed?(?: it)? (?:works|fixed)|success|(?:do|does|did) the trick|all systems (?:are )?go|"
                    r"(?:seems?|appears?) to (?:work|be (?:working|fixed|resolved|fine|ok|okay|good))|"
                    r"looks? (?:good|fine|great|right|ok|okay)(?: now| so far)?|"
                    r"(?:functions?|works?|runs?|behaves?) (?:correctly|properly|perfectly|fine|great|as expected|"
                    r"normally)(?! (?:on|with|in|for|from|when|if|except|via|without|through)\b| w/)|"
                    r"(?:functions?|works?|runs?) (?:\w+ )?(?:on (?:all|multiple|both|every)(?! other)|everywhere|across)|"
                    r"(?:i was|i'?ve been|i am|i'?m) (?:now )?able to|i managed to|managed to get|"
                    r"(?:i'?ll |i will |i can |can be |you can |i'?m |i am |we'?ll |will )(?:be )?clos(?:e|ing) "
                    r"(?:this|it|the (?:issue|ticket|case|thread|request))|"
                    r"(?:^|[.!?,]\s*)closing\b|"
                    r"(?:shows|showing) up (?:now|fine|again)|(?:is|are) (?:all )?showing (?:up|correctly|properly))\b")
_IMPROVED = _rx(r"\b(?:(?:much|way|lot|loads|a bit|somewhat) better|better now|(?:more )?stable now|improv(?:ed|ing)|"
                r"behaving (?:much |a lot )?better)\b")
# A problem said not to happen any more is good news: "no errors since", "haven't had it since", "no longer crashes".
_TROUBLE_NOUN = (r"(?:errors?|crash\w*|problems?|issues?|glitch\w*|artifacts?|drops?|dropouts?|disconnect\w*|"
                 r"freez\w*|lag\w*|skips?|hiccups?|bugs?|complaints?|trouble|failures?|warnings?|outages?|"
                 r"stutter\w*|hangs?|(?:double |extra |duplicate |second )?charges?|declines?|lockouts?|"
                 r"timeouts?|spam)")
_GOOD_NEWS = _rx(
    rf"\bno more {_TROUBLE_NOUN}|"
    rf"\bno (?:further |new |other )?{_TROUBLE_NOUN}(?: \w+)?(?= since| so far| anymore| any more| now| at all| for \w+|"
    rf" in \w+)|"
    r"\b(?:not|isn'?t|aren'?t|stopped|no longer) (?:skipping|crashing|freezing|dropping|lagging|happening|failing|"
    r"stuttering|disconnecting|glitching|hanging|jamming|buffering|flickering|overheating|beeping|rebooting|"
    r"restarting|looping|timing out|erroring|throwing errors|logging me out|charging me)(?: \w+){0,2}? "
    r"(?:at the mo\w*|now|anymore|any more|since)\b|"
    r"\bno longer (?:crash|freez|skip|drop|happen|occur|fail|disconnect|lag|stutter|show|appear|get|see|have|"
    r"charg|bill|log)\w*[^.!?,;]{0,40}|"
    r"\b(?:haven'?t|have not|hasn'?t|has not|didn'?t|did not|not|never|nothing)(?: \w+)? "
    r"(?:had|seen|noticed|experienced|got|gotten|heard|happened|occurred|recurred|come back|returned|reappeared|"
    r"crashed|dropped|skipped|frozen|failed|glitched|happen|occur|recur|return|reappear|crash|drop|fail)\b"
    r"[^.!?]{0,40}?\b(?:since|anymore|any more|again|so far|for (?:(?:a|the|\d+|several|many|some|over|a few) )?"
    r"(?:\w+ )?(?:days?|weeks?|months?|hours?|while|time)|in (?:\d+|a few|several|many) \w+)\b|"
    rf"\b(?:haven'?t|have not|hasn'?t|has not|not) (?:had|seen|noticed|experienced|got|gotten) "
    rf"(?:any|a single|one) (?:more |other |further )?{_TROUBLE_NOUN}|"
    r"\bnot (?:a|one) (?:single )?(?:problem|issue|crash|error|glitch|hiccup)\b|"
    rf"\b(?:don'?t|do not|doesn'?t|does not|didn'?t|did not) (?:get|see|have|notice|experience|hit|receive)"
    rf"(?: (?:the|that|this|these|those|any|an?))?(?: \w+)? {_TROUBLE_NOUN} (?:anymore|any more|since|now)\b|"
    r"^(?:(?:no|nope|nah),? )?(?:not|no) (?:any ?more|anymore|any longer)\b")
_SELF_BLAME = _rx(r"\bmy (?:mistake|bad|fault|error|apologies|oversight)\b|\b(?:silly|stupid|dumb) me\b|"
                  r"\bi (?:misread|misunderstood|mistyped|misstyped|should have|should'?ve)\b|"
                  r"\bi (?:missed|overlooked|forgot|didn'?t see|didn'?t notice|hadn'?t seen|hadn'?t noticed) "
                  r"(?:that|it|this|about|the (?:\w+ )?(?:e-?mail|message|reply|option|setting|button|link|note|"
                  r"post|step|part|page))\b|\bi (?:didn'?t|did not) (?:realise|realize|know)\b|\b(?:oops|whoops)\b|"
                  r"\b(?:oh,? )?duh\b|\bi (?:feel|felt) (?:so |really )?(?:silly|stupid|dumb|foolish)\b|"
                  r"\bi apologi[sz]e\b|\buser error\b|\bfalse alarm\b|\bi'?m (?:an idiot|ashamed)\b|"
                  r"\bi'?d (?:completely |totally )?forgotten\b|\byou'?re right\b|"
                  r"\b(?:glad|relieved|good to know) (?:that )?(?:it'?s|it was|it is|it wasn'?t) not\b"
                  r"(?! (?:just|only) (?:me|us)\b)[^.!?]*|"
                  r"\b(?:something |what )?i (?:did|had done|'d done|was doing) wrong\b|"
                  r"\bsorry,? (?:i|my|for (?:the|my) (?:confusion|mistake|noise|trouble))\b")
_TEMPORARY = _rx(r"\b(?:for now|for a (?:bit|while|little while|few \w+|day)|briefly|temporar\w*|"
                 r"at least|sort of|kind of|partly|partially|technically|intermittent\w*|some issues|sometimes|"
                 r"for (?:\d+|one|a) (?:day|hour|minute)s?|only (?:when|if|after|on|with)|revert\w*|"
                 r"roll(?:s|ed|ing)? (?:(?:it|them|that|this|everything|the \w+) )?back|"
                 r"downgrad\w*|workaround|work around)\b")

# A fix that is over: "it worked fine until the update", "it was working a month ago".
_UNTIL = _rx(r"(?:\s+[\w']+){0,2}?\s+(?:until|till|up until)\b")
_BEFORE_NOW = _rx(r"\b(?:ago|before|previously|earlier|last (?:week|month|year|night|time)|yesterday|in the past|"
                  r"until|till)\b")

_UNRESOLVED = _rx(r"\bstill\b(?! (?:works?|working|fine|good|great|running)\b)|\bpersist\w*|"
                  r"\bsame (?:issue|problem|error|thing|result|bug|message|again|trouble)\b|"
                  r"\b(?:is|it'?s|was|all) the same\b|\bkeeps \w+ing\b|\bkept \w+ing\b|\bused to\b|"
                  r"\bany (?:news|update|updates|progress|word)\b|\bnot yet\b|\bwaiting (?:for|on)\b|\bevery ?time\b|"
                  r"\bnow (?:it )?(?:doesn'?t|does not|won'?t)\b|\bstopped (?:working|playing)\b|\bdon'?t think so\b|"
                  r"\bwhat'?s the status\b|\balways happening\b|\b(?:does|did|do|doing) nothing\b|"
                  r"\bnothing (?:happens|happened|changed|works|loads|plays|is happening)\b|"
                  r"\b(?:tried|done|did) (?:all|everything|every)\b|\balready (?:done|did) (?:that|this|it)\b|"
                  r"\b(?:did|done) (?:that|this|it) (?:already|twice|before|(?:several|many|multiple|a few|"
                  r"a couple of) times)\b|\b(?:returned|came back|is back|are back|"
                  r"back again)\b(?! (?:to normal|up|online|working)\b)|"
                  r"\bnothing (?:\w+ ){0,2}(?:can|will|could) (?:be )?do(?:ne)?\b|\bnothing to be done\b|"
                  r"\b(?:been|keeps?) (?:going on|happening)\b|\bnext time (?:it|this|that) (?:happens|occurs|"
                  r"breaks|crashes|fails)\b|\b(?:once in a while|every now and then|from time to time|now and again|"
                  r"randomly|at random)\b|\bgoing on for\b|\bbeen (?:about |over |almost )?"
                  r"(?:a|\d+|two|three|several) (?:days?|weeks?|months?)\b|\bhave(?:n'?t| not) (?:seen|received|"
                  r"got|gotten|heard)\b(?![^.!?]{0,40}\b(?:since|anymore|again)\b)")
_AGAIN = _rx(r"(?<!try )(?<!tried )(?<!trying )(?<!tries )(?<!retry )(?<!in )\bagain\b")  # "tried again", "logged in again"
_TROUBLE = _rx(r"\b(?:not|no|never|error|issue|problem|crash\w*|broke\w*|stopp?\w*|fail\w*|happen\w*|same|wrong|"
               r"stuck|bug\w*|glitch\w*|skip\w*|freez\w*|froze\w*|gone|lost|missing)\b|n't\b")
_CONDITIONAL = _rx(r"(?<!see )(?<!check )(?<!know )(?<!wonder )(?<!ask )\b(?:if|in case|whenever|should)\b[^.!?,;]*")
_PROBLEM_STATE = _rx(r"\b(?:broken|broke|wrong|missing|gone|stuck|frozen|freez\w+|crash(?:es|ed|ing)?|glitch\w*|lag\w*|"
                     r"skipp?(?:s|ing)|fail(?:s|ed|ing|ure)?|unable|impossible|unavailable|unstable|wonky|buggy|"
                     r"(?:super|very|so|too) slow|disappear\w*|lost|weird|strange|greyed out|grayed out|cuts? out|"
                     r"declined|denied|rejected|locked out|charged twice|double charged|overcharged)\b|"
                     r"\b(?:issue|problem|bug|error)s? "
                     r"(?:is|are|affects?|occurs?|happens?|remains?|exists?|persists?)\b|"
                     r"\b(?:getting|get|got|receiving|seeing|see|shows?|showing|throws?|gives?) (?:an? |the )?"
                     r"(?:new |same |weird |different )?(?:error|exception|warning)s?\b")
_COMPLAINT = _rx(r"\b(?:useless|pointless|terrible|awful|horrible|crap\w*|shit\w*|shoddy|ridiculous|joke|lame|"
                 r"frustrat\w*|disgust\w*|worst|pathetic|bogus|garbage|rubbish|trash|wtf|argh+|ugh+|fed up|sick of|"
                 r"annoy\w*|disappoint\w*|unacceptable|waste|scam|bot|robot|automated|canned|parody|madness|vague|"
                 r"no one|nobody|nowhere|not a (?:solution|fix|answer)|makes? no sense|"
                 r"doesn'?t make sense|slap in the face|unhappy|angry|upset|hate|ignor(?:ed|ing|es|e) (?:me|us|my|our|it)|"
                 r"nonsense|excuses|"
                 r"stinks|sucks|urgent|betrayed|major pain|setback|awkward)\b")
_SARCASM = _rx(r"\b(?:thanks|thank you|thx|ty|cheers)\s+(?:a lot\s+)?for (?:nothing|nothin|absolutely nothing|"
               r"wasting|the (?:useless|canned|copy))|\byeah,? right\b|\boh,? great\b|"
               r"\b(?:great|wonderful|fantastic|brilliant|lovely),? (?:yet )?another (?:\w+ )?(?:that|which|where|"
               r"with|bug|problem|issue|error|crash|update|outage|charge|fee)\b|(?<!be )\bsure,? but\b|/s\b|#thanks\b|"
               r"\bgood to know\b(?=[^.!?]*[.!]\s*$)")
SARCASM_EMOJI = "🙃🙄😒😑"
SAD_EMOJI = "😞😟😢😭😡😠🤬😤😕😐☹🙁😩😫💔👎😔😣😖"
HAPPY_EMOJI = "♥🙏❤💜💗💙💚💛🧡😍🥰🙌🎉😊☺🤩💯👍👌😁😀😃😄🙂😘✨🔥😎"
_IDIOMS = re.compile(r"\b(?:can'?t|cannot) (?:wait|thank you enough|complain)\b|\bcouldn'?t be happier\b|"
                     r"\bno (?:worries|problem)\b", re.IGNORECASE)  # VADER reads these as negative
_NEG_EMOJI = re.compile(f"[{SARCASM_EMOJI}{SAD_EMOJI}]")
_EMOTICON_SAD = _rx(r"(?:^|\s)(?::-?\(|:'\(|:-?/(?!/)|\):|\)\)|d:|;_;|:-?\[|>:\(|:s\b)")
_DM = _rx(r"(?:^|\b(?:i|i'?ve|i have|we|we'?ve|just|already|have|has|ok|okay|and)\s+)(?:just\s+|already\s+)?"
          r"(?:dm'?d|dm'?ed|dmed|pm'?d|sent|replied|e-?mailed|messaged|submitted|forwarded|attached|uploaded)\b"
          r"(?! me\b| us\b)|"
          r"\b(?:dm|it|e-?mail|message|details|info|logs?|screenshots?) (?:is|was|are|has been|have been) "
          r"(?:sent|attached|uploaded)\b|\bshot it off\b|\b(?:see|find) (?:the )?attached\b|"
          r"\b(?:screenshots?|screen shots?|logs?|log files?|pics?|photos?|videos?) (?:\w+ )?(?:added|attached|"
          r"uploaded|below|enclosed)\b|"
          r"\b(?:check (?:your |my |the )?(?:dms?|inbox|messages?|e-?mail)|"
          r"(?:in|to) (?:your|the) (?:dms?|inbox|mailbox)|"
          r"i can dm|i'?ll dm|will dm)\b|"
          r"\bi (?:just |already )?(?:send|sent|mail|mailed|e-?mail|e-?mailed) (?:you|u) (?:a |an |the )?"
          r"(?:mail|e-?mail|message|dm|pm|note)\b|\bas (?:you )?(?:requested|asked)\b")
_DM_IF = _rx(r"\b(?:dm|message|contact|reach out|get back)\b[^.!?]*\bif\b")
_QUESTION = _rx(r"\?|^(?:how|why|what|where|who|which|when|is there|are there|do i|should i|can i)\b[^.!]*$|"
                r"(?:^|[,;:]\s*)(?:so |but |and |then |ok |okay )?(?:why|how come) (?!not\b)[^.!]*\.?$|"
                r"\b(?:any (?:idea|help|ideas|suggestions)|is there (?:a|any)|how (?:do|can|come)|"
                r"what (?:do|should|can)|i (?:was )?wonder(?:ing)?|do you know)\b")
_REQUEST = _rx(r"(?<!to )\bhelp me\b|\b(?:(?<!posted )please(?! do\b| keep (?:me|us) (?:posted|updated|informed))|pls|plz|kindly|asap|i need (?!to (?!know|get|have|speak|talk))|"
               r"we need|we really need|i want|i would like|"
               r"i'?d like|tell me|show me|let me know|you should|you need to|should (?:allow|let|have|be able)|"
               r"can you|can u|could you|would you|i wish|would appreciate|"
               r"(?<!will )(?<!'ll )(?<!to )fix (?:it|this|that)|would make|i should be able|"
               r"would be (?:nice|great|good|better|awesome|helpful|easier) (?:if|to))\b|"
               r"^(?:(?:so|just|then|pls|please) )?(?:add|make|fix|bring|give|allow|change|remove|put|update|enable)\b"
               r"(?! (?:it|that|this) a (?:go|try|shot)\b)")
_NO_START = _rx(r"^(?:no|nope|nah|nop|not|negative|never)\b(?! ?mind)"
                r"(?!\s+(?:worries|worry|problems?|probs?|issues?|need|stress|rush|hurry|big deal|particular|"
                r"specific|frustrations?|complaints?|hard feelings|pressure)\b)")
_LEAD_NO = _rx(r"^(?:no|nope|nah)\s*[,.!:;-]+")  # "No, ..." answers the question; it negates nothing after it
_YES_START = _rx(r"^(?:yes|yeah|yep|yup|yea|ya|yess+)\b")
_GRATITUDE = _rx(r"\b(?:thanks?|thank(?:s| you| u| ya|youu+)?|thx|thnx|thnks|thks|thanx|tnx|tks|ty|tia|cheers|"
                 r"appreciate\w*|grateful|kudos|much obliged)\b|thank\s*you")
_CLOSURE_THANKS = _rx(r"\b(?:thanks?|thank you|thx|appreciate)\b[^.!?]{0,20}\b(?:the|your|all the|all your|all) "
                      r"(?:\w+ )?(?:help|support|assistance|resolution|fix|patience|kindness)\b")
_THANKS_FOR_NEWS = _rx(r"\b(?:thanks?|thank you|thx|cheers)\b[^.!?]{0,15}\bfor (?:the|your|this|that) (?:\w+ )?"
                       r"(?:response|reply|update|info|information|heads up|tip|hint|suggestions?|answer|explanation|"
                       r"link|pointer|recommendation|advice|idea)s?\b|\b(?:thanks?|thank you) anyway\b|\b(?:great|good) news\b|"
                       r"\b(?:ok|okay|k|okk|alright|i see|understood|got it)\W+(?:\w+\W+)?(?:thanks?|thank (?:you|u))\b")
_PRAISE = _rx(r"\b(?:amazing|awesome|brilliant|perfect|great(?! (?:day|weekend|week|evening|one|news))|excellent|helpful|fantastic|wonderful|legend\w*|rock|rocks|"
              r"superb|splendid|the best|love (?:you|u|it|this)|you'?re the best|star|champ|lifesaver|life saver|"
              r"well done|well played|nailed it|nailed|nicely done|good job|nice one|cutest|sweetest|"
              r"(?:nice|great|good|quick|fast) work|(?:you'?re|you are|that was) (?:so |very |really )?(?:fast|quick))\b")
_WEAK_ACK = _rx(r"(?:^|[.!?,]\s*)sure\b|\b(?:ok|okay|okie\w*|okk+|k|kk|alright|all right|got it|i see|understood|"
                r"understandable|noted|roger|fair enough|makes sense|right|ah|oh|good to know|you too|same to you|"
                r"likewise|have a (?:nice|good|great|lovely) (?:day|one|weekend|evening))\b")
_PLAN = _rx(r"(?:^|[.!?,]\s*|\b(?:i|ok|okay|sure|yes|yep|thanks)\s+)will do\b|(?:^|[.!?,]\s*)(?:done|added|on it)\b|"
            r"\b(?:sounds good|please do|"
            r"(?:i'?ll|ill|i will|i shall|we'?ll|will) (?:\w+ )?(?:try|give|do|check|test|keep|update|report|follow|"
            r"perform|get back|monitor|call|contact|collate|send|work|make|start|go|wait|back up|be trying|get in|"
            r"look (?:into|at|for|out)|have a (?:look|go|try)|see (?:if|how|what|whether))|"
            r"let you know|get back to you|report back|keep you posted|(?:i'?ll|i will) be (?!closing)\w+ing|"
            r"give (?:it|that|this) a (?:go|try|shot)|"
            r"let me(?! know)|doing (?:it|that|this) now|(?:trying|testing) (?:it|that|this)|keep me posted|just did|"
            r"did that|done that|i have now|i did it|i'?m (?:gonna|going to|about to)|gonna|i'?ll just|"
            r"(?:^|[.!?,]\s*)no (?:problem|worries|probs?)(?! (?:on|with|in|when|from|since)\b)|"
            r"(?:^|[.!?,]\s*)no (?:rush|hurry)\b|take your time|"
            r"(?:^|[.!?,]\s*)have done\b(?! all| every)|done so|have a (?:go|try|look)|"
            r"(?:haven'?t|have not|not) (?:had a chance|had (?:the |any |much )?time|got round|gotten around|"
            r"tried (?:it |that |this )?yet)|"
            r"(?:i (?:really )?|i'?m )?hop(?:e|ing)(?! (?:that|this)\b| it helps)|hopefully|fingers crossed|"
            r"can'?t wait to|looking forward)\b")
_NOT_A_PLAN = _rx(r"\b(?:forgot to|was going to|were going to|meant to|should have|should'?ve|didn'?t|did not|"
                  r"never|failed to)\s*$")  # "I forgot to get back to you" is no plan
_COURTESY_IF = _rx(r"\b(?:let you know|get back to you|dm|reach out|contact you|be in touch|report back|"
                   r"come back|reopen)\b[^.!?]{0,30}\bif\b")
_DETAIL = _rx(r"\b(?:version|update[ds]?|firmware|browser|device|devices|app|model|os|operating system|"
              r"laptop|desktop|computer|phone|tablet|mobile|wi-?fi|network|mobile data|bluetooth|router|vpn|cache|"
              r"storage|region|country|username|user name|password|e-?mail|login|account|"
              r"tried|restart\w*|reboot\w*|re-?install\w*|uninstall\w*|re-?download\w*|"
              r"logg?(?:ed|ing) (?:out|in)|signed (?:in|out)|clear\w*|delet\w*|reset|unlink\w*|re-?link\w*|"
              r"screenshots?|screen shot|attached|here you go|here it is|here'?s|here is|for example|it says|"
              r"says|shows|log ?files?|logs|message|both|neither|either|only)\b"
              r"|\b\d+(?:\.\d+)+\b|\b\d+(?:gb|mb)\b")


def sentiment(text: str) -> float:
    """VADER compound score, idioms it misreads made plain; a neutral 0.0 if the model chokes on odd input."""
    try:
        return float(analyzer().polarity_scores(_IDIOMS.sub(" great ", text[:SENTIMENT_CHARS]))["compound"])
    except Exception:  # noqa: BLE001 - a broken score must not hide the reply from a person
        log.warning("sentiment model failed on a reply", exc_info=True)
        return 0.0


def _tokens(sentence: str) -> list[re.Match[str]]:
    return list(TOKEN.finditer(sentence))


def _words(tokens: list[re.Match[str]]) -> list[str]:
    """Bare words; people drop apostrophes as often as they type them."""
    return [t.group(0).replace("'", "") for t in tokens]


def _negated(words: list[str], j: int) -> str | None:
    """The negator governing words[j] within three words before it ("didn't really work", "no luck")."""
    for k in range(max(0, j - 3), j):
        following = words[k + 1] if k + 1 < len(words) else ""
        if words[k] in _NEGATORS and not (words[k] == "no" and following in _NO_WORRIES) and not (
                words[k] == "never" and following == "mind"):
            return words[k]
    return None


def _negated_before(text: str, start: int) -> bool:
    """One of the two words before text[start] is a negator; a comma ends its scope ("It is nothing, I'll close")."""
    before = re.split(r"[,;:.!?]", text[max(0, start - 40):start])[-1]
    return bool(set(_words(_tokens(before))[-2:]) & _NEGATORS)


def _inside(at: int, spans: list[tuple[int, int]]) -> bool:
    return any(lo <= at < hi for lo, hi in spans)


def _past_only(before: list[str], sentence: str, end: int) -> bool:
    """A fix said of the past only ("worked fine until Monday", "was working a month ago"), not of now."""
    if _UNTIL.match(sentence, end):
        return True
    past = before[-1:] in (["was"], ["were"]) or before[-2:] in (["had", "been"], ["used", "to"])
    return past and bool(_BEFORE_NOW.search(sentence, end))


def _promise(sentence: str, end: int, conditions: tuple[int, ...]) -> bool:
    """A closing that waits for something ("I'll close this if/once it is unlocked") is a promise, not a fix."""
    gap = sentence[end:]
    return bool(re.match(r"\s*(?:once|when|after|as soon as)\b", gap)) or any(
        c >= end and not sentence[end:c].strip() for c in conditions)


def _word_cues(at: int, sentence: str, cues: Cues, good: list[tuple[int, int]],
               conditions: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Negated actions ("didn't work") and stated fixes ("works now"); returns the spans of fix phrases.

    `conditions` are where the sentence's conditional clauses start (they are blanked in `sentence`).
    """
    tokens = _tokens(sentence)
    words = _words(tokens)
    temporary = _TEMPORARY.search(sentence)
    for j, word in enumerate(words):
        where = tokens[j].start()
        if _inside(where, good):
            continue
        if word in _FUNCTION and (neg := _negated(words, j)):
            cues.add_problem(at + where, "negation", f"negation: '{neg} … {word}'")
        elif (word.endswith("ing") and len(word) > 5 and word not in _NOT_VERBS and j
              and words[j - 1] in {"not", "isnt", "arent", "wasnt"}):
            cues.add_problem(at + where, "negation", f"negation: '{words[j - 1]} {word}'")
        elif word in _FIXED_WORDS and not _negated(words, j):
            before, after = words[max(0, j - 3):j], words[j + 1:j + 3]
            if any(w in _FUTURE - {"to"} for w in before) or (before and before[-1] == "to"):
                continue  # "hope it works", "need to get it working"
            if after[:1] == ["on"] and after[1:2] and after[1] in {"it", "this", "that", "a", "the"}:
                continue  # "working on it" is a promise, not a fix
            if after and (after[0] in _COMPARE or (after[0] in {"fine", "ok", "okay", "well", "perfectly"}
                                                   and len(after) > 1 and after[1] in _COMPARE)):
                if "now" not in words[j:] and "again" not in words[j:]:
                    cues.signal("works_elsewhere", f"works somewhere: '{word} {' '.join(after)}'")
                    continue
            if _past_only(words[:j], sentence, tokens[j].end()):
                cues.add_problem(at + where, "unresolved", f"worked only before: '{word} {' '.join(after)}'")
            elif temporary:
                cues.add_problem(at + where, "partial_fix", f"only a partial fix: '{temporary.group(0)}'")
            else:
                cues.add_fixed(at + where, "fixed", f"fixed: '{word}'")
    spans = []
    phrases = [(m, "fixed") for m in _FIXED_PHRASE.finditer(sentence)] + [
        (m, "improved") for m in _IMPROVED.finditer(sentence)]  # (the sentence, its conditional clauses blanked)
    for m, kind in phrases:
        if not _negated_before(sentence, m.start()):  # "haven't figured it out"
            if kind == "fixed" and _past_only(_words(_tokens(sentence[:m.start()])), sentence, m.end()):
                cues.add_problem(at + m.start(), "unresolved", f"worked only before: '{m.group(0)}'")
            elif "clos" in m.group(0) and _promise(sentence, m.end(), conditions):
                cues.signal("plan", f"says what they will do next: '{m.group(0)}…'")
            elif temporary and "clos" not in m.group(0):  # "closing this for now" is a closing
                cues.add_problem(at + m.start(), "partial_fix", f"only a partial fix: '{temporary.group(0)}'")
            else:
                cues.add_fixed(at + m.start(), kind, f"{kind}: '{m.group(0)}'")
            spans.append(m.span())
    return spans


_BEWILDERED = {"problem: 'weird'", "problem: 'strange'"}
_CHECKS = ((_UNRESOLVED, "unresolved"), (_PROBLEM_STATE, "problem"), (_COMPLAINT, "complaint"),
           (_SARCASM, "sarcasm"), (_CHURN, "churn"), (_QUESTION, "question"), (_REQUEST, "request"))
_LABELS = {"churn": "churn talk, not an opt-out"}


def _sentence_cues(at: int, sentence: str, cues: Cues) -> None:
    """Problem and fix cues of one sentence, each with its offset in the reply."""
    good = [m.span() for m in _GOOD_NEWS.finditer(sentence)]
    for lo, _ in good:
        cues.add_fixed(at + lo, "good_news", f"a problem that no longer happens: '{sentence[lo:lo + 40]}'")
    for m in _SELF_BLAME.finditer(sentence):
        cues.add_fixed(at + m.start(), "self_blame", f"their own slip, not a complaint: '{m.group(0)}'")
        good.append(m.span())
    factual = _CONDITIONAL.sub(lambda m: " " * len(m.group(0)), sentence)  # "if it breaks again" states nothing
    factual = _LEAD_NO.sub(lambda m: " " * len(m.group(0)), factual) if at == 0 else factual
    conditions = tuple(m.start() for m in _CONDITIONAL.finditer(sentence))
    spans = _word_cues(at, factual, cues, good, conditions) + good
    for pattern, kind in _CHECKS:
        text = factual if kind in ("unresolved", "problem") else sentence
        for m in pattern.finditer(text):
            if _inside(m.start(), spans):  # "the problem is gone"
                continue
            if kind not in ("problem", "complaint") or not _negated_before(text, m.start()):  # "not skipping"
                cues.add_problem(at + m.start(), kind, f"{_LABELS.get(kind, kind)}: '{m.group(0).strip()}'")
                break
    courtesy = _COURTESY_IF.search(factual)
    if ((m := _AGAIN.search(factual)) and _TROUBLE.search(factual) and not _inside(m.start(), spans)
            and not (courtesy and courtesy.start() < m.start())):
        cues.add_problem(at + m.start(), "unresolved", "unresolved: 'again' + problem words")
    if (m := _DM.search(sentence)) and not _DM_IF.search(sentence):
        cues.add_problem(at + m.start(), "sent_details", f"sent details, waiting for the agent: '{m.group(0)}'")
    if at == 0 and (m := _NO_START.search(sentence)) and not _inside(0, good):
        cues.add_problem(0, "answers_no", f"answers '{m.group(0)}'")
    for m in _NEG_EMOJI.finditer(sentence):
        e = m.group(0)
        cues.add_problem(at + m.start(), "sarcasm" if e in SARCASM_EMOJI else "negative_emoji",
                         f"{'sarcasm' if e in SARCASM_EMOJI else 'negative emoji'}: {e}")
    if m := _EMOTICON_SAD.search(sentence):
        cues.add_problem(at + m.start(), "negative_emoji", f"negative emoticon: '{m.group(0).strip()}'")


def contrast_after(pattern: re.Pattern[str], low: str, end: int) -> re.Match[str] | None:
    """A "but/however" that turns what came before: in the same sentence, or opening the next one.

    A clause-final "though" ("that fixed it though!") turns nothing.
    """
    stop = re.search(r"[.!?\n]", low[end:end + 240])  # a long sentence is still one sentence
    limit = end + (stop.end() if stop else 240)
    for m in pattern.finditer(low, end, min(len(low), limit + 30)):
        if m.start() >= limit and low[limit:m.start()].strip():
            break  # past the sentence and not its first word
        if m.group(0) in ("though", "anyway") and re.match(r"\s*(?:[,.!?:)]|$)", low[m.end():]):
            continue
        return m
    return None


def _shouting(norm: str) -> bool:
    """Two or more ALL-CAPS words (not acronyms), or a whole short reply in caps."""
    words = re.findall(r"[A-Za-z']{3,}", norm)
    caps = [w for w in words if w.isupper() and w not in {"USA", "MP3", "LTE", "VPN", "FYI", "LOL", "OMG", "ASAP",
                                                           "DMS", "APP", "SMS", "CEO", "PIN", "MAC", "AND", "OSX",
                                                           "API", "USB", "PDF", "URL", "DNS", "SIM", "VERY"}]
    whole = norm.isupper() and len(norm.split()) >= 2  # "FIX IT"
    return whole or len(caps) >= 2 or (len(caps) == 1 and len(words) <= 2 and len(caps[0]) >= 4)


def _calm_signals(low: str, cues: Cues) -> None:
    """Thanks, praise, plans and details, wherever they are in the reply."""
    factual = _CONDITIONAL.sub(lambda m: " " * len(m.group(0)), low)
    for name, pattern, text in (("thanks", _GRATITUDE, low), ("closure_thanks", _CLOSURE_THANKS, low),
                                ("thanks_for_news", _THANKS_FOR_NEWS, low),
                                ("praise", _PRAISE, low), ("weak_ack", _WEAK_ACK, low), ("detail", _DETAIL, low)):
        if m := pattern.search(text):
            cues.signal(name, f"{name.replace('_', ' ')}: '{m.group(0).strip(' .,!?')}'")
    courtesy = [m.span() for m in _COURTESY_IF.finditer(low)]
    for m in _PLAN.finditer(factual):
        if not _inside(m.start(), courtesy) and not _NOT_A_PLAN.search(factual, 0, m.start()):
            cues.signal("plan", f"says what they will do next: '{m.group(0).strip(' .,!?')}'")
            break
    if emoji := next((e for e in HAPPY_EMOJI if e in low), None):
        cues.signal("happy_emoji", f"gratitude/praise: {emoji}")
    if _CONDITIONAL.search(low):
        cues.signal("conditional", "a conditional clause")
    if "?" in low:
        cues.signal("question_mark", "a question mark")
    if m := _YES_START.search(low):
        cues.signal("answers_yes", f"answers '{m.group(0)}'")


def read_english(norm: str, attached: bool) -> Cues:
    """All English cues of a normalised reply, and the rule verdict they add up to."""
    low = norm.lower()
    cues = Cues(tokens=len(_tokens(low)), sentiment=sentiment(norm))
    for chunk in CHUNK.finditer(low):
        lead = len(chunk.group(0)) - len(chunk.group(0).lstrip())
        _sentence_cues(chunk.start() + lead, chunk.group(0).strip(), cues)
    _calm_signals(low, cues)
    if attached:
        cues.signal("attached", "a link or screenshot")
        cues.signal("detail", "a link or screenshot")
    if _shouting(norm) and cues.sentiment < 0.3:
        cues.add_problem(-1, "shouting", "shouting (ALL CAPS)")
    if cues.sentiment <= -0.3 and not any(kind == "self_blame" for _, kind, _ in cues.fixed):
        cues.add_problem(-1, "negative_tone", f"negative tone (sentiment {cues.sentiment:+.2f})")
    demote_contrasted_fixes(cues, low, _CONTRAST, _TURNED)
    if any(kind in ("fixed", "good_news") for _, kind, _ in cues.fixed):  # "works now. Strange!" is no complaint
        cues.problem = [c for c in cues.problem if c[2] not in _BEWILDERED]
    warm = [m.end() for m in (_GRATITUDE.search(low), _PRAISE.search(low)) if m]
    for end in sorted(warm + [at + 1 for at, kind, _ in cues.fixed if kind in ("fixed", "self_blame")]):
        if but := contrast_after(_CONTRAST, low, end):  # "thanks, but…", "works now. However…"
            cues.add_problem(but.start(), "contrast", f"contrast: '…{low[max(0, end - 12):end]}…, {but.group(0)}…'")
            break
    cues.decide()
    return cues
