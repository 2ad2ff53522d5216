"""How the demo model reads a message: the words it knows, and the rules from clause to fact."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memory_agent.models.demo_wording import (
    clean,
    last_word,
    their,
    third,
    third_person,
    words,
)

_ENGLISH = words(  # words other languages seldom use ("me", "no", "a", "in" are left out)
    "i i'm im i've i'd i'll my mine am are was were be the an and or but of at for with from "
    "about what where who when how why does did have has not yes please you your it this that "
    "like love live work hello hi hey thanks thank okay ok remember forget tell know name call "
    "called named"
)

_OTHER_LANGUAGES = words(  # Spanish, French, Italian, Portuguese, German, Dutch, Swedish words
    # that English does not use, so that an English message the rules cannot read ("purple
    # monkey dishwasher") is told it was not understood, not that it is not English.
    "el la los las una unos y o del que es soy son estoy mi mis tu su se por para con como muy "
    "pero yo llamo hola gracias tengo vivo trabajo je j' le les une des et ou du est suis sont "
    "mon ma mes ton ta tes sa ses il elle nous vous ils avec dans sur pas bonjour merci "
    "m'appelle j'ai habite travaille ich bin ist sind der das ein eine und oder nicht mit für "
    "auf mein meine dein wohne heiße arbeite danke io sono il lo gli della che e non mi chiamo "
    "ciao grazie ho abito lavoro eu sou um uma não meu minha olá obrigado obrigada moro chamo "
    "ik ben het een niet voor mijn woon heet jag är och inte heter bor"
)


_ENGLISH_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz'àâäçèéêëîïôöûüñ")
"""Letters of English words, loanwords' accents included."""

_PROFESSIONS = words(
    "nurse doctor teacher engineer developer programmer designer lawyer accountant student chef  "
    "cook writer artist musician pilot driver manager scientist researcher architect dentist  "
    "pharmacist farmer firefighter officer journalist photographer consultant analyst carpenter  "
    "electrician plumber mechanic librarian professor translator cashier baker barista waiter  "
    "waitress vet veterinarian therapist psychologist surgeon paramedic"
)


_ANIMALS = (
    r"dogs?|cats?|kittens?|puppy|puppies|hamsters?|rabbits?|bunny|bunnies|parrots?|birds?|"
    r"fish|goldfish|turtles?|tortoises?|snakes?|lizards?|horses?|guinea pigs?|ferrets?|pets?"
)


_RELATIVES = (
    r"wife|husband|partner|boyfriend|girlfriend|fianc[ée]e?|spouse|sister|brother|sisters|"
    r"brothers|siblings?|son|sons|daughter|daughters|kids?|children|child|baby|mother|father|"
    r"mom|mum|dad|parents|grandmother|grandfather|grandma|grandpa|aunt|uncle|cousin|niece|nephew"
)


_NUMBER = r"(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|\d+|some|several|many)"


_NOT_FACTS = words(
    "fine good ok okay great tired happy sad here back sorry sure ready done busy bored hungry  "
    "well alright"
)


_NAME = r"([A-Z][\w'-]*|[^\W\d_][\w'-]*)"


_RULES: list[tuple[re.Pattern[str], str, str | None, str]] = [
    (
        re.compile(
            rf"^(?:my name(?:'s| is)|call me|i(?:'m| am) called|people call me) {_NAME}$", re.I
        ),
        "User's name is {0}",
        "name",
        "name",
    ),
    (
        re.compile(r"^i (?:currently |now )?work (?:at|for) (.+?) as (an? .+)$", re.I),
        "User works at {0}\nUser works as {1}",
        "work\njob",
        "work\njob",
    ),
    (
        re.compile(r"^i(?:'m| am) (an? .+?) (?:at|for) (.+)$", re.I),
        "User works as {0}\nUser works at {1}",
        "job\nwork",
        "job\nwork",
    ),
    (
        re.compile(r"^i (?:currently |now )?(?:work|am working|'m working) (?:at|for) (.+)$", re.I),
        "User works at {0}",
        "work",
        "work",
    ),
    (
        re.compile(r"^i (?:switched|changed) jobs? (?:to|and now work (?:at|for)) (.+)$", re.I),
        "User works at {0}",
        "work",
        "work",
    ),
    (
        re.compile(r"^i (?:currently |now )?work as (.+)$", re.I),
        "User works as {0}",
        "job",
        "job",
    ),
    (
        re.compile(
            r"^i (?:currently |now )?(?:live|am living|'m living|am based|'m based|reside) "
            r"in (.+)$",
            re.I,
        ),
        "User lives in {0}",
        "live",
        "live",
    ),
    (
        re.compile(
            r"^i (?:just |recently )?(?:moved|relocated) (?:to|back to) (.+?)"
            r"(?: (?:last|this) (?:year|month|week)| recently| a while ago)?$",
            re.I,
        ),
        "User lives in {0}",
        "live",
        "live",
    ),
    (
        re.compile(r"^i(?:'m| am) (?:originally )?from (.+)$|^i come from (.+)$", re.I),
        "User is from {0}",
        "from",
        "live",
    ),
    (
        re.compile(r"^i(?:'m| am) (\d{1,3})(?: years old| years| yo)?$", re.I),
        "User is {0} years old",
        "age",
        "age",
    ),
    (
        re.compile(r"^my birthday is (?:on )?(.+)$|^i was born (?:on|in) (.+)$", re.I),
        "User's birthday is {0}",
        "birthday",
        "plans",
    ),
    (
        re.compile(rf"^i have ({_NUMBER} (?:\w+ )?(?:{_ANIMALS})(?: (?:called|named) .+)?)$", re.I),
        "User has {0}",
        None,
        "pets",
    ),
    (
        re.compile(
            rf"^my ((?:\w+ )?(?:{_ANIMALS}))(?:'s name is| is called| is named| is) (.+)$", re.I
        ),
        "User's {0} is called {1}",
        "pet {0}",
        "pets",
    ),
    (
        re.compile(
            rf"^i have ({_NUMBER} (?:\w+ )?(?:{_RELATIVES})(?: (?:called|named) .+)?)$", re.I
        ),
        "User has {0}",
        None,
        "family",
    ),
    (
        re.compile(rf"^my ({_RELATIVES})(?:'s name is| is called| is named) (.+)$", re.I),
        "User's {0} is called {1}",
        "relative {0}",
        "family",
    ),
    (
        re.compile(r"^i(?:'m| am) married(?: to (.+))?$", re.I),
        "User is married to {0}",
        "married",
        "family",
    ),
    (
        re.compile(r"^my favou?rite (\w+(?: \w+)?) is (.+)$", re.I),
        "User's favorite {0} is {1}",
        "favorite {0}",
        "likes",
    ),
    (
        re.compile(r"^(.+?) is my favou?rite (\w+(?: \w+)?)$", re.I),
        "User's favorite {1} is {0}",
        "favorite {1}",
        "likes",
    ),
    (
        re.compile(r"^i (?:now |really |much |still )?(?:prefer|'d rather have) (.+)$", re.I),
        "User prefers {0}",
        "prefer",
        "likes",
    ),
    (
        re.compile(
            r"^i (?:really )?(?:(?:don't|do not|dont) (?:like|enjoy|love)|hate|dislike|"
            r"can't stand|cannot stand) (.+)$",
            re.I,
        ),
        "User dislikes {0}",
        None,
        "dislikes",
    ),
    (
        re.compile(r"^i (?:really |absolutely |also )?(love|like|enjoy|adore) (.+)$", re.I),
        "User {0}s {1}",
        None,
        "likes",
    ),
    (
        re.compile(r"^i(?:'m| am) (?:really |a big |a huge )?(?:into|a fan of) (.+)$", re.I),
        "User is into {0}",
        None,
        "likes",
    ),
    (
        re.compile(r"^i (drink|eat|play|speak|study|read|watch|cook|use) (.+)$", re.I),
        "User {0}s {1}",
        None,
        "likes",
    ),
    (
        re.compile(
            r"^i(?:'m| am) (vegetarian|vegan|pescatarian|gluten-free|lactose intolerant)$", re.I
        ),
        "User is {0}",
        "diet",
        "likes",
    ),
    (
        re.compile(r"^(?i:i'm|i am) (?i:going|travell?ing|heading) to ((?:the )?[A-Z].*)$"),
        "User is going to {0}",
        None,
        "plans",
    ),
    (
        re.compile(
            r"^i(?:'m| am) (?:going|planning|hoping) to (.+)$|^i plan to (.+)$|^i want to (.+)$",
            re.I,
        ),
        "User plans to {0}",
        None,
        "plans",
    ),
    (
        re.compile(r"^i(?:'ll| will) (.+)$", re.I),
        "User will {0}",
        None,
        "plans",
    ),
    (
        re.compile(
            r"^i(?:'m| am) (flying|travell?ing|moving|visiting|starting|getting|leaving|"
            r"having|seeing|meeting|running|taking) (.+)$",
            re.I,
        ),
        "User is {0} {1}",
        None,
        "plans",
    ),
    (
        re.compile(r"^i have (an? .+?) (on|next|this|tomorrow|in|at) (.+)$", re.I),
        "User has {0} {1} {2}",
        None,
        "plans",
    ),
    (re.compile(r"^i(?:'m| am) (an? .+)$", re.I), "User is {0}", None, "is"),
    (re.compile(r"^i have (.+)$", re.I), "User has {0}", None, "has"),
    (re.compile(r"^my (\w+(?: \w+)?) is (.+)$", re.I), "User's {0} is {1}", "{0}", "has"),
    (re.compile(r"^(?i:i'm|i am) ([A-Z][\w'-]*)$"), "User's name is {0}", "name", "name"),
]


# The families a memory belongs to, read from its (third-person) text.
FAMILY_OF_MEMORY = {
    "name": re.compile(r"\bname is\b", re.I),
    "live": re.compile(r"\b(lives?|living|based|moved|resides?) (in|to)\b|\bis from\b", re.I),
    "work": re.compile(r"\bworks? (at|for)\b|\bemployer\b", re.I),
    "job": re.compile(
        rf"\bworks? as\b|\bjob\b|\bis an? (\w+ )?({'|'.join(sorted(_PROFESSIONS))})\b", re.I
    ),
    "pets": re.compile(rf"\b({_ANIMALS})\b", re.I),
    "family": re.compile(rf"\b({_RELATIVES}|married)\b", re.I),
    "likes": re.compile(
        r"\b(loves?|likes?|enjoys?|adores?|prefers?|favou?rite|is into|drinks?|eats?|plays?|"
        r"vegetarian|vegan)\b",
        re.I,
    ),
    "dislikes": re.compile(r"\b(dislikes?|hates?|can't stand|no longer likes?)\b", re.I),
    "plans": re.compile(
        r"\b(plans?|will|is (going|flying|travell?ing|moving|visiting|starting|getting|leaving|"
        r"having|seeing|meeting))\b|\bbirthday\b|\bnext (week|month|year)\b",
        re.I,
    ),
    "age": re.compile(r"\byears old\b", re.I),
}


# What a question about the user is about: the families of memories that answer it.
QUESTION_TOPICS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bname\b|\bwho am i\b|\bcall me\b", re.I), ("name",)),
    (
        re.compile(r"\bwhere\b.*\b(live|living|based|home|from|stay)\b|\bcity\b|\bcountry\b", re.I),
        ("live",),
    ),
    (
        re.compile(
            r"\b(job|work|working|employer|occupation|profession|for a living|company|career)\b",
            re.I,
        ),
        ("work", "job"),
    ),
    (re.compile(rf"\b({_ANIMALS}|animals?)\b", re.I), ("pets",)),
    (re.compile(rf"\b({_RELATIVES}|family|married)\b", re.I), ("family",)),
    (re.compile(r"\bhow old\b|\bmy age\b", re.I), ("age",)),
    (
        re.compile(r"\b(plans?|planning|going to|trip|travel|schedule|birthday|when)\b", re.I),
        ("plans",),
    ),
    (
        re.compile(
            r"\b(like|love|enjoy|hobby|hobbies|favou?rite|prefer|preferences?|into|fun|drink|"
            r"food|eat|hate|dislike)\b",
            re.I,
        ),
        ("likes", "dislikes"),
    ),
]


ABOUT_ME = re.compile(
    r"\bwhat (?:else )?(?:do|did) you (?:know|remember)\b|\babout me\b|\babout myself\b|"
    r"\bwhat have i told you\b|\bwho am i\b|\beverything you know\b|\bwhat you know\b",
    re.I,
)


_QUESTION_START = re.compile(
    r"^(what|what's|whats|where|who|when|how|which|why|do|does|did|am|is|are|have|has|can|"
    r"could|would|tell me|remind me)\b",
    re.I,
)


_FORGET = re.compile(
    r"^(?:please |can you |could you |now )*(?:forget|delete|remove|erase|drop)\b"
    r"(?: (?:that|about|the fact that|what i said about|the memory(?: that)?|my memory))*\s*(.*)$",
    re.I,
)


_REMEMBER = re.compile(
    r"^(?:please )?(?:remember|note|keep in mind)(?: that|:)?\s+(.+)$", re.I | re.S
)


_CORRECTION = re.compile(
    r"\b(actually|not anymore|anymore|no longer|instead|now|changed|correction|not .+ but|"
    r"moved|switched|these days)\b",
    re.I,
)


_NO_LONGER = re.compile(
    r"^i (?:don't|do not|dont) (\w+) (.+)$|^i no longer (\w+) (.+)$|"
    r"^i(?:'m| am) (?:not|no longer) (.+)$",
    re.I,
)


_ANYMORE = re.compile(r"\b(any ?more|no longer)\b", re.I)


_SWITCHED = re.compile(r"^i (?:switched|changed|went over) (?:from (.+?) )?to (.+)$", re.I)


GREETING = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening)|howdy)\b", re.I)


THANKS = re.compile(r"^(thanks|thank you|cheers|great|cool|ok|okay|nice|perfect)\b", re.I)


_LEADING_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|oh|ok|okay|well|also|btw|by the way|and|but|so|actually|"
    r"just so you know|fyi|yes|no|um|also,|in fact|correction)\b[\s,:!-]*)+",
    re.I,
)


_CLAUSE_SPLIT = re.compile(
    r"[.!;\n]+\s*|,\s*(?:and|but|so)?\s*(?=(?:i|i'm|i've|my|me)\b)|"
    r"\s+(?:and|but|so|also)\s+(?=(?:i|i'm|i've|my)\b)|,\s+(?:and|but)\s+",
    re.I,
)


@dataclass(frozen=True)
class Fact:
    """A fact the user stated, as a memory to write, and the slot it fills (if single-valued)."""

    content: str
    slot: str | None
    family: str | None = None
    correction: bool = False
    """Said as a correction ("actually", "now", "I moved to"): it replaces what it contradicts."""


@dataclass
class Reading:
    """What one user message says, as this model understands it."""

    facts: list[Fact] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    forget: str | None = None
    question: bool = False
    foreign: bool = False


def read_message(text: str) -> Reading:
    """Split a message into the facts it states, a forget request, or a question."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    remember = _REMEMBER.match(_LEADING_FILLER.sub("", text))
    if remember:
        return Reading(facts=_remembered(remember.group(1)))
    if not is_english(text):
        return Reading(foreign=True)
    forget = _FORGET.match(_LEADING_FILLER.sub("", text).rstrip(" .!?"))
    if forget:
        return Reading(forget=forget.group(1).strip())
    if text.rstrip().endswith("?") or _QUESTION_START.match(text) or ABOUT_ME.search(text):
        return Reading(question=True)
    reading = Reading()
    corrected = bool(_CORRECTION.search(text))
    ended = bool(_ANYMORE.search(text))
    for clause in _clauses(text):
        facts = clause_facts(clause, corrected, ended)
        if facts:
            reading.facts.extend(facts)
        elif not _is_small_talk(clause):
            reading.not_understood.append(clause)
    return reading


def is_english(text: str) -> bool:
    """Whether the message may be English: Latin letters, and no sign of another language.

    A sign is a common word of another language, or a letter English does not use (not even in
    "café" or "naïve"), with no common English word beside it. Words the rules do not know are
    English not understood.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    if sum(c.isascii() or "à" <= c.lower() <= "ÿ" for c in letters) < 0.8 * len(letters):
        return False
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]*)?", text.lower())
    if len(words) <= 1 or any(w in _ENGLISH for w in words):
        return True
    return not any(w in _OTHER_LANGUAGES or set(w) - _ENGLISH_LETTERS for w in words)


def _remembered(stated: str) -> list[Fact]:
    """What "remember that …" keeps: its facts if it reads as English facts, else the text."""
    stated = stated.strip()
    if is_english(stated):
        facts = [f for clause in _clauses(stated) for f in clause_facts(clause, False)]
        if facts and len(facts) == len(_clauses(stated)):
            return facts
        content = third_person(clean(stated))
    else:
        content = stated.rstrip(" .!")
    return [Fact(content[:1].upper() + content[1:], None, None)] if content else []


def _clauses(text: str) -> list[str]:
    parts = (_LEADING_FILLER.sub("", p.strip(" ,")) for p in _CLAUSE_SPLIT.split(text))
    return [p for p in (clean(part) for part in parts) if p]


def clause_facts(clause: str, corrected: bool, ended: bool = False) -> list[Fact]:
    """The facts of one clause, by the first rule that reads it; none if no rule does.

    ``ended`` says the message said "anymore" or "no longer": a negation then ends a fact.
    """
    negated = _NO_LONGER.match(clause)
    if negated and (ended or re.search(r"\bno longer\b", clause, re.I)):
        return [_no_longer(negated, corrected=True)]
    switched = _SWITCHED.match(clause)
    if switched:
        return [Fact(f"User switched to {clean(switched.group(2))}", "switched", None, True)]
    for pattern, template, slot, family in _RULES:
        match = pattern.match(clause)
        if not match:
            continue
        parts = [their(clean(g)) for g in match.groups() if g is not None]
        if template == "User is married to {0}" and not parts:
            return [Fact("User is married", "married", "family", corrected)]
        if not parts or not all(parts) or len(parts) < template.count("{"):
            continue
        if slot == "name" and (parts[0].lower() in _NOT_FACTS or parts[0].lower() in _ENGLISH):
            continue
        if template == "User is {0}" and last_word(parts[0]) in _PROFESSIONS:
            template, slot, family = "User works as {0}", "job", "job"
        if slot == "name":
            parts = [p[:1].upper() + p[1:] for p in parts]
        contents = template.format(*parts).split("\n")
        slots = (slot.format(*parts).lower() if slot else "").split("\n")
        families = family.split("\n")
        return [
            Fact(
                content,
                slots[i] if i < len(slots) and slots[i] else None,
                families[min(i, len(families) - 1)],
                corrected,
            )
            for i, content in enumerate(contents)
        ]
    return []


def _no_longer(match: re.Match[str], corrected: bool) -> Fact:
    verb, thing, verb2, thing2, state = match.groups()
    if state:
        return Fact(f"User is no longer {clean(state)}", None, None, corrected)
    verb, thing = (verb, thing) if verb else (verb2, thing2)
    return Fact(f"User no longer {third(verb.lower())} {clean(thing)}", None, None, corrected)


def _is_small_talk(clause: str) -> bool:
    words = clause.lower().strip(" !.?").split()
    return (
        not words
        or bool(GREETING.match(clause) or THANKS.match(clause))
        and len(words) <= 3
        or clause.lower().strip(" !.") in _NOT_FACTS
    )
