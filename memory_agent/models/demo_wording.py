"""How the demo model words things: first, second and third person, lists, stems."""

from __future__ import annotations

import re


def words(text: str) -> frozenset[str]:
    """A word list written as one string."""
    return frozenset(text.split())


_STOP = words(
    "i me my mine you your user user's is am are was the a an and or to of in on at for with do  "
    "does did have has what what's whats where who how which when tell know about any anything  "
    "please now actually really also that it its this"
)


_TRAILING_FILLER = re.compile(
    r"(?:[\s,]+(?:now|instead|these days|too|as well|anymore|any more|actually|nowadays))+$", re.I
)


def clean(text: str) -> str:
    """A clause part without end punctuation or trailing "now", "too", "anymore"."""
    text = text.strip().rstrip(".!?,;:").strip()
    return _TRAILING_FILLER.sub("", text).strip(" ,")


def their(text: str) -> str:
    """The user's words inside a fact: "oat milk in my coffee" -> "oat milk in their coffee"."""
    for mine, theirs in (("my", "their"), ("myself", "themselves"), ("me", "them")):
        text = re.sub(rf"\b{mine}\b", theirs, text, flags=re.I)
    return text


def last_word(text: str) -> str:
    """The last word, lower case ("a software engineer" -> "engineer")."""
    words = text.lower().split()
    return words[-1] if words else ""


def third(verb: str) -> str:
    """The third person of a verb: "live" -> "lives", "have" -> "has"."""
    irregular = {"have": "has", "do": "does", "go": "goes", "be": "is", "am": "is"}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def third_person(text: str) -> str:
    """'my sister is Ann' -> "User's sister is Ann": memories speak of the user."""
    text = re.sub(
        r"\bi (\w+)\b",
        lambda m: "User " + (m.group(1) if m.group(1) in ("am", "was") else third(m.group(1))),
        text,
        flags=re.I,
    )
    for pattern, replacement in [
        (r"\bmy\b", "User's"),
        (r"\bUser am\b|\bi'm\b", "User is"),
        (r"\bi've\b", "User has"),
        (r"\bi\b", "User"),
        (r"\bme\b", "User"),
        (r"\bmine\b", "User's"),
    ]:
        text = re.sub(pattern, replacement, text, flags=re.I)
    return text


def first_person(content: str) -> str:
    """Turn "User's name is Zed" into "my name is Zed", to find which slot a memory fills."""
    text = re.sub(r"^User's\b", "my", content)
    text = re.sub(r"^User is\b", "i am", text)
    text = re.sub(r"^User has\b", "i have", text)
    text = re.sub(r"^User (\w+?)(?:es|s)\b", lambda m: f"i {_base(m.group(0))}", text)
    return text


def _base(third: str) -> str:
    verb = third.split()[-1]
    for ending, base in (("ies", "y"), ("shes", "sh"), ("ches", "ch"), ("oes", "o"), ("s", "")):
        if verb.endswith(ending):
            return verb[: -len(ending)] + base
    return verb


def second_person(content: str) -> str:
    """Turn "User loves sailing" into "You love sailing" for replies; other text stays."""
    if content.startswith("User's "):
        return "Your " + content[len("User's ") :]
    irregular = {"is": "are", "has": "have", "was": "were", "does": "do", "goes": "go"}
    match = re.match(r"^User (no longer )?(\w+)\b(.*)$", content, re.S)
    if not match:
        return content
    longer, verb, rest = match.groups()
    rest = re.sub(r"\btheir\b", "your", re.sub(r"\bthemselves\b", "yourself", rest))
    if verb in irregular:
        verb = irregular[verb]
    elif verb.endswith("ies"):
        verb = verb[:-3] + "y"
    elif verb.endswith(("shes", "ches", "xes")):
        verb = verb[:-2]
    elif verb.endswith("s") and not verb.endswith("ss"):
        verb = verb[:-1]
    return f"You {longer or ''}{verb}{rest}"


def lower_first(text: str) -> str:
    """Lower the first letter, to continue a sentence ("I" stays)."""
    return text[:1].lower() + text[1:] if not text.startswith("I ") else text


def sentence(items: list[str]) -> str:
    """Items as one sentence: "A, and b and c"."""
    first, *rest = items
    return (
        first
        if not rest
        else first + ", and " + join(rest)
        if len(rest) > 1
        else f"{first} and {lower_first(rest[0])}"
    )


def join(items: list[str]) -> str:
    """Items as a list in a sentence: "a, b and c"."""
    lowered = [lower_first(item) for item in items]
    return lowered[0] if len(lowered) == 1 else ", ".join(lowered[:-1]) + " and " + lowered[-1]


def quoted(parts: list[str]) -> str:
    """The user's own words, each in quotes: '"a" and "b"'."""
    return _join_plain([f'"{p}"' for p in parts])


def _join_plain(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def stem(word: str) -> str:
    """A crude stem, so "lives" and "live" share a word."""
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """The words that carry meaning, stemmed (no "I", "my", "is")."""
    words = re.findall(r"[^\W_]+", text.lower())
    return {stem(w) for w in words if w not in _STOP and len(w) > 1}


def overlap(a: str, b: str) -> set[str]:
    """The content words two texts share."""
    return content_words(a) & content_words(b)
