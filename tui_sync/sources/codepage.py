"""Which single-byte code page is this text in? (F1: after a BOM and UTF-8 have been ruled out.)

charset-normalizer, kept to the code pages in which European and Cyrillic
spreadsheets are saved, ranks readings by mess and coherence; on a short file it
cannot: the bytes of "Müller" read as "Müller" in cp1250, cp1252, cp1254 and
cp1257 alike, "Mьller" in cp1251 is as tidy to it, and it names no language
("Unknown"), or a wrong one. So a reading is chosen by, in order:

1. what its letters say: a letter of another script inside a word (`Jьrgen`), a
   symbol inside a word (`£ukasz`, `Ą±`), or a word that is neither lower, upper
   nor title case (`MŸller`; KOI8 read as cp1251: `йЧБО`), a Cyrillic or Greek
   word without a vowel (Greek read as cp1251: `Рбрбдьрпхлпт`) counts against it, and
   so does every non-ASCII letter outside the alphabet of the one language of
   that code page that explains most of them (`Jiøí` is no Danish);
2. whether charset-normalizer names a language of that code page (on a longer
   sample it does: Polish, Greek, Russian …);
3. how common the code page is: Windows before its ISO and Mac cousins, Western
   before Central European before Cyrillic. Code pages that read the sample
   alike are one reading, named by the most common of them (cp1252, not
   latin-1 or cp1257, for "Müller").

Some single letters stay ambiguous (a lone Hungarian ű reads as French û, ő
beside ö as Estonian õ, a lone Mac Roman ü as Polish ź): the `encoding_guessed`
warning shows what was read.
Only a bounded sample is examined: lines with non-ASCII bytes from the first
byte that is not UTF-8 on, up to `SAMPLE_BYTES` (read within `_SCAN_BYTES`).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

SAMPLE_BYTES = 64 << 10  # of non-ASCII lines examined
_SCAN_BYTES = 4 << 20  # how far past the first non-UTF-8 byte to look for more such lines

# The code pages F1 names, most common first (this order breaks exact ties).
CODE_PAGES = (
    "cp1252", "cp1250", "cp1251", "cp1254", "cp1257", "cp1253",
    "iso8859_2", "koi8_r", "koi8_u", "iso8859_15", "iso8859_1", "iso8859_9", "iso8859_13", "iso8859_7",
    "iso8859_5", "mac_roman",
)

_WESTERN = {
    "German": "äöüß", "French": "àâçéèêëîïôœùûüÿ", "Spanish": "áéíñóúü", "Italian": "àèéìíîòóù",
    "Portuguese": "ãõáâàçéêíóôú", "Dutch": "éëïóöüèáê", "Danish/Norwegian": "æøåé", "Swedish": "åäöé",
    "Finnish": "åäöšž", "Catalan": "àèéíïòóúüç",
}  # (not Icelandic: its ð ý þ are the bytes of Turkish ğ ı ş, so Turkish would always read as Icelandic;
# French without its rare æ, which Danish/Norwegian keeps: Polish ę ś ć are the bytes of ê œ æ)
_CENTRAL = {
    "Polish": "ąćęłńóśźż", "Czech": "áčďéěíňóřšťúůýž", "Slovak": "áäčďéíĺľňóôŕšťúýž",
    "Hungarian": "áéíóöőúüű", "Slovene/Croatian": "čćđšž", "Romanian": "ăâîșțşţ",
}
_TURKISH = {"Turkish": "çğıöşüİ"}  # (İ: its lower case is two characters)
_BALTIC = {"Lithuanian": "ąčęėįšųūž", "Latvian": "āčēģīķļņšūž", "Estonian": "äõöüšž"}
_GREEK = {"Greek": "αβγδεζηθικλμνξοπρστυφχψωςάέήίόύώϊϋΐΰ"}
_CYRILLIC = {
    "Russian": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "Ukrainian": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    "Belarusian": "абвгдеёжзійклмнопрстуўфхцчшыьэюя",
    "Bulgarian": "абвгдежзийклмнопрстуфхцчшщъьюя",
    "Serbian/Macedonian": "абвгдђѓежзѕијклљмнњопрстћќуфхцчџш",
}
_LANGUAGES = {
    "cp1252": _WESTERN, "iso8859_15": _WESTERN, "iso8859_1": _WESTERN, "mac_roman": _WESTERN,
    "cp1250": _CENTRAL, "iso8859_2": _CENTRAL,
    "cp1254": _TURKISH, "iso8859_9": _TURKISH,
    "cp1257": _BALTIC, "iso8859_13": _BALTIC,
    "cp1253": _GREEK, "iso8859_7": _GREEK,
    "cp1251": _CYRILLIC, "koi8_r": _CYRILLIC, "koi8_u": _CYRILLIC, "iso8859_5": _CYRILLIC,
}
# the vowels of the scripts whose words always hold one (not Latin: Czech `vlk`, `Brno`)
_VOWELS = {"CYRILLIC": set("аеёиоуыэюяєіїў"), "GREEK": set("αεηιουωάέήίόύώϊϋΐΰ")}
_LANGUAGE_NAMES = {codec: {name for key in table for name in key.split("/")} for codec, table in _LANGUAGES.items()}
# Non-ASCII characters that are not letters but belong in ordinary text.
_NEUTRAL = set("\xa0«»„“”‘’‚–—…€№°§•·×")
_WORD = re.compile(r"[^\s;,\t|\"'()\[\]/]+")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


@dataclass(frozen=True)
class Guess:
    encoding: str  # a Python codec name from CODE_PAGES
    sample: str  # decoded words with non-ASCII letters, to show the operator


def guess_code_page(data: bytes, first_bad: int) -> Guess | None:
    """The most likely code page of `data` (not UTF-8: `first_bad` is the offset of its first byte
    that is not), or None when none of `CODE_PAGES` decodes the sample."""
    sample = _sample(data, first_bad)
    texts: dict[str, str] = {}
    for codec in CODE_PAGES:
        try:
            texts[codec] = sample.decode(codec)
        except UnicodeDecodeError:
            continue
    if not texts:
        return None
    # Code pages that read the sample alike are one reading, named by the most common of them.
    readings: dict[str, list[str]] = {}
    for codec, text in texts.items():  # (in CODE_PAGES order)
        readings.setdefault(text, []).append(codec)
    named = _detected_languages(sample)

    def likelihood(text: str) -> tuple:
        codecs = readings[text]
        return (-max(_plausibility(text, c) for c in codecs),
                not any(_LANGUAGE_NAMES[c] & named for c in codecs), CODE_PAGES.index(codecs[0]))

    text = min(readings, key=likelihood)
    return Guess(readings[text][0], _non_ascii_words(text))


def guessed_note(encoding: str, sample: str) -> str:
    """How a guessed code page is reported (F1 `encoding_guessed`)."""
    return (f'{encoding} (guessed): "{sample}" — if these letters look wrong, set encoding = "…" to the '
            "file's code page")


def _sample(data: bytes, first_bad: int) -> bytes:
    """Whole lines holding non-ASCII bytes, from the line of the first non-UTF-8 byte on."""
    lines = []
    size = 0
    pos, stop = first_bad, min(len(data), first_bad + _SCAN_BYTES)
    while size < SAMPLE_BYTES and (m := _NON_ASCII.search(data, pos, stop)):
        start = data.rfind(b"\n", 0, m.start()) + 1
        end = data.find(b"\n", m.start())
        pos = len(data) if end < 0 else end + 1
        lines.append(data[start:pos])
        size += pos - start
    return b"".join(lines)[:SAMPLE_BYTES]


def _detected_languages(sample: bytes) -> set[str]:
    """The languages charset-normalizer names for its tidiest readings of the sample (on a short
    sample it names none: "Unknown")."""
    from charset_normalizer import from_bytes  # (deferred: only a file that is not UTF-8 needs it)

    matches = list(from_bytes(sample, cp_isolation=list(CODE_PAGES), explain=False))
    if not matches:
        return set()
    least = min(m.chaos for m in matches)
    return {m.language for m in matches if m.chaos <= least and m.language != "Unknown"}


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "?"


def _plausibility(text: str, codec: str) -> int:
    """Higher is likelier: letters in one language's alphabet count for, strays and oddities against."""
    counts: dict[str, int] = {}
    odd = 0
    for word, n in Counter(w for w in _WORD.findall(text) if not w.isascii()).items():
        scripts = set()
        for ch in word:
            if ch.isalpha():
                scripts.add(_script(ch))
                if not ch.isascii():
                    low = ch.lower()
                    low = low if len(low) == 1 else ch  # Turkish İ lowers to i + a combining dot: kept as İ
                    counts[low] = counts.get(low, 0) + n
            elif not ch.isascii() and ch not in _NEUTRAL:
                odd += n  # a symbol or control character where a letter should be (`£ukasz`)
        if len(scripts) > 1:
            odd += 2 * n  # `Jьrgen`
        elif scripts & _VOWELS.keys() and not word.isupper() and sum(ch.isalpha() for ch in word) >= 4 \
                and not _VOWELS[next(iter(scripts))] & set(word.lower()):
            odd += n  # Greek read as cp1251: `Рбрбдьрпхлпт`, a Cyrillic or Greek word without a vowel
        if not (word.islower() or word.isupper() or word.istitle()):
            odd += n  # `MŸller`; KOI8 read as cp1251: `йЧБО`; Greek as cp1251: `НЯкпт`
    total = sum(counts.values())
    fit = max(sum(n for ch, n in counts.items() if ch in alphabet) for alphabet in _LANGUAGES[codec].values())
    return fit - (total - fit) - 3 * odd


def _non_ascii_words(text: str, limit: int = 80) -> str:
    """A few distinct words with non-ASCII letters, to show the operator what the guess reads."""
    words: list[str] = []
    seen = set()
    size = 0
    for word in _WORD.findall(text):
        if word.isascii() or word in seen:
            continue
        seen.add(word)
        words.append(word)
        size += len(word) + 2
        if size >= limit:
            break
    return ", ".join(words)


__all__ = ["CODE_PAGES", "Guess", "SAMPLE_BYTES", "guess_code_page", "guessed_note"]
