"""JavaScript regular expressions: syntax checks as V8 (Node 20) makes them, and guarded matching.

``parse_js_regex(source, unicode=True)`` checks a pattern as ``new RegExp(source, "u")`` would
(``unicode=False``: as ``new RegExp(source)``, with the web-compatibility grammar) and raises
``JsRegexError`` where V8 throws.  For ``u`` patterns it also gives an equivalent pattern for RE2
(when RE2 can express it) and for the ``regex`` package, with JavaScript's meaning of ``.``,
``\\d``, ``\\w``, ``\\s``, ``\\b``, ``^`` and ``$`` (no flags: ``$`` is the end of the subject only).

``GuardedRegex.search`` is the only way patterns written by tenants are run: RE2 when it can,
otherwise ``regex`` with a timeout, and never on subjects longer than a million characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex

try:  # google-re2: linear time, preferred whenever it can express the pattern
    import re2
except ImportError:  # pragma: no cover - declared dependency
    re2 = None

MAX_SUBJECT = 1_000_000  # characters, as for rule regexes (regex_guard)
TIMEOUT = 0.1
MAX_CP = 0x10FFFF

# JavaScript's \s: WhiteSpace and LineTerminator
JS_SPACES = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
LINE_TERMINATORS = "\n\r\u2028\u2029"
SYNTAX_CHARS = set("^$\\.*+?()[]{}|")

Ranges = list[tuple[int, int]]


class JsRegexError(ValueError):
    pass


def _ranges_of(chars: str) -> Ranges:
    return _normalise([(ord(c), ord(c)) for c in chars])


def _normalise(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _complement(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _normalise(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CP:
        out.append((nxt, MAX_CP))
    return out


DIGIT = [(0x30, 0x39)]
WORD = _normalise([(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x5F, 0x5F)])
SPACE = _ranges_of(JS_SPACES)
CLASS_ESCAPES = {
    "d": DIGIT, "D": _complement(DIGIT),
    "w": WORD, "W": _complement(WORD),
    "s": SPACE, "S": _complement(SPACE),
}

# Unicode property names V8 knows (ECMA-262 tables); script values are checked by the regex
# package, which knows the same names (a Unicode-version difference may show at the edges).
_GC_VALUES = (
    "C Other Cc Control cntrl Cf Format Cn Unassigned Co Private_Use Cs Surrogate "
    "L Letter LC Cased_Letter Ll Lowercase_Letter Lm Modifier_Letter Lo Other_Letter "
    "Lt Titlecase_Letter Lu Uppercase_Letter M Mark Combining_Mark Mc Spacing_Mark "
    "Me Enclosing_Mark Mn Nonspacing_Mark N Number Nd Decimal_Number digit Nl Letter_Number "
    "No Other_Number P Punctuation punct Pc Connector_Punctuation Pd Dash_Punctuation "
    "Pe Close_Punctuation Pf Final_Punctuation Pi Initial_Punctuation Po Other_Punctuation "
    "Ps Open_Punctuation S Symbol Sc Currency_Symbol Sk Modifier_Symbol Sm Math_Symbol "
    "So Other_Symbol Z Separator Zl Line_Separator Zp Paragraph_Separator Zs Space_Separator"
).split()
_BINARY = (
    "ASCII ASCII_Hex_Digit AHex Alphabetic Alpha Any Assigned Bidi_Control Bidi_C "
    "Bidi_Mirrored Bidi_M Case_Ignorable CI Cased Changes_When_Casefolded CWCF "
    "Changes_When_Casemapped CWCM Changes_When_Lowercased CWL Changes_When_NFKC_Casefolded "
    "CWKCF Changes_When_Titlecased CWT Changes_When_Uppercased CWU Dash Default_Ignorable_Code_Point "
    "DI Deprecated Dep Diacritic Dia Emoji Emoji_Component EComp Emoji_Modifier EMod "
    "Emoji_Modifier_Base EBase Emoji_Presentation EPres Extended_Pictographic ExtPict Extender Ext "
    "Grapheme_Base Gr_Base Grapheme_Extend Gr_Ext Hex_Digit Hex IDS_Binary_Operator IDSB "
    "IDS_Trinary_Operator IDST ID_Continue IDC ID_Start IDS Ideographic Ideo Join_Control Join_C "
    "Logical_Order_Exception LOE Lowercase Lower Math Noncharacter_Code_Point NChar "
    "Pattern_Syntax Pat_Syn Pattern_White_Space Pat_WS Quotation_Mark QMark Radical "
    "Regional_Indicator RI Sentence_Terminal STerm Soft_Dotted SD Terminal_Punctuation Term "
    "Unified_Ideograph UIdeo Uppercase Upper Variation_Selector VS White_Space space "
    "XID_Continue XIDC XID_Start XIDS"
).split()
_GC_SET = frozenset(_GC_VALUES)
_BINARY_SET = frozenset(_BINARY)


def _property(body: str) -> str:
    """The regex-package spelling of a JS \\p{...} body, or JsRegexError as V8 gives."""
    if "=" in body:
        name, _, value = body.partition("=")
        if name in ("General_Category", "gc"):
            if value in _GC_SET:
                return f"gc={value}"
            raise JsRegexError("Invalid property name")
        if name in ("Script", "sc", "Script_Extensions", "scx"):
            key = "sc" if name in ("Script", "sc") else "scx"
            if value and value.replace("_", "").isalnum() and value[0].isupper():
                try:
                    regex.compile(rf"\p{{{key}={value}}}")
                except regex.error:
                    raise JsRegexError("Invalid property name") from None
                return f"{key}={value}"
        raise JsRegexError("Invalid property name")
    if body in _GC_SET:
        return f"gc={body}"
    if body in _BINARY_SET:
        if body == "Any":
            return "Any"
        try:
            regex.compile(rf"\p{{{body}}}")
        except regex.error:
            raise JsRegexError("Invalid property name") from None
        return body
    raise JsRegexError("Invalid property name")


@dataclass
class _Class:
    ranges: Ranges
    props: list[tuple[bool, str]]  # (negated, regex-package property) inside the class
    negated: bool


@dataclass
class Translation:
    re2: str | None  # None when RE2 cannot express it
    py: str  # for the regex package


class _Parser:
    """Recursive descent over the pattern's characters (code points, or UTF-16 units without u)."""

    def __init__(self, source: str, unicode: bool) -> None:
        if unicode:
            self.chars = [ord(c) for c in _join_surrogates(source)]
        else:
            units = source.encode("utf-16-le", "surrogatepass")
            self.chars = [int.from_bytes(units[i:i + 2], "little") for i in range(0, len(units), 2)]
        self.u = unicode
        self.i = 0
        self.groups, self.names = self._count_groups()
        self.has_names = bool(self.names)
        self.seen_names: set[str] = set()
        self.group_index = 0
        self.re2_ok = True

    # -- helpers
    def peek(self, k: int = 0) -> int | None:
        j = self.i + k
        return self.chars[j] if j < len(self.chars) else None

    def eat(self, ch: str) -> bool:
        if self.peek() == ord(ch):
            self.i += 1
            return True
        return False

    def _count_groups(self) -> tuple[int, dict[str, int]]:
        count, i, in_class = 0, 0, False
        names: dict[str, int] = {}
        cs = self.chars
        while i < len(cs):
            c = cs[i]
            if c == 0x5C:
                i += 2
                continue
            if in_class:
                in_class = c != 0x5D
            elif c == 0x5B:
                in_class = True
            elif c == 0x28:
                if i + 1 < len(cs) and cs[i + 1] == 0x3F:
                    if i + 2 < len(cs) and cs[i + 2] == 0x3C and i + 3 < len(cs) and cs[i + 3] not in (0x3D, 0x21):
                        count += 1
                        j = i + 3
                        name = []
                        while j < len(cs) and cs[j] != 0x3E:
                            name.append(chr(cs[j]))
                            j += 1
                        names.setdefault("".join(name), count)
                else:
                    count += 1
            i += 1
        return count, names

    # -- grammar
    def parse(self) -> str:
        out = self.disjunction()
        if self.i < len(self.chars):
            # only a lone ')' can stop the top-level disjunction
            raise JsRegexError("Unmatched ')'")
        return out

    def disjunction(self) -> str:
        alts = [self.alternative()]
        while self.eat("|"):
            alts.append(self.alternative())
        return "|".join(alts)

    def alternative(self) -> str:
        parts: list[str] = []
        while True:
            c = self.peek()
            if c is None or c in (0x7C, 0x29):
                return "".join(parts)
            parts.append(self.term())

    def term(self) -> str:
        c = self.peek()
        assert c is not None
        ch = chr(c)
        quantifiable = True
        if ch == "^":
            self.i += 1
            return r"\A"
        if ch == "$":
            self.i += 1
            return "\x00END\x00"
        if ch == "\\" and self.peek(1) in (ord("b"), ord("B")):
            self.i += 2
            if self.peek(-1) == ord("b"):
                atom = "\x00WB\x00"
            else:
                atom = "\x00NWB\x00"
            self._no_quantifier()
            return atom
        if ch == "(":
            atom, quantifiable = self.group()
        elif ch in "*+?":
            raise JsRegexError("Nothing to repeat")
        elif ch == "{":
            if self.u:
                raise JsRegexError("Nothing to repeat" if self._quantifier_ahead() else "Lone quantifier brackets")
            if self._quantifier_ahead():
                raise JsRegexError("Nothing to repeat")
            self.i += 1
            atom = _lit(c)
        elif ch == "}" or ch == "]":
            if self.u:
                raise JsRegexError("Lone quantifier brackets")
            self.i += 1
            atom = _lit(c)
        elif ch == ".":
            self.i += 1
            atom = _render_class(_Class(_ranges_of(LINE_TERMINATORS), [], True))
        elif ch == "[":
            atom = self.char_class()
        elif ch == "\\":
            atom = self.atom_escape()
        else:
            self.i += 1
            atom = _lit(c)
        return atom + self.quantifier(quantifiable)

    def _no_quantifier(self) -> None:
        c = self.peek()
        if c is not None and chr(c) in "*+?":
            raise JsRegexError("Nothing to repeat")
        if c == ord("{") and self._quantifier_ahead():
            raise JsRegexError("Nothing to repeat")

    def _quantifier_ahead(self) -> bool:
        j = self.i + 1
        cs = self.chars

        def digits(k: int) -> int:
            while k < len(cs) and 0x30 <= cs[k] <= 0x39:
                k += 1
            return k

        k = digits(j)
        if k == j:
            return False
        if k < len(cs) and cs[k] == 0x7D:
            return True
        if k < len(cs) and cs[k] == 0x2C:
            m = digits(k + 1)
            return m < len(cs) and cs[m] == 0x7D
        return False

    def quantifier(self, quantifiable: bool) -> str:
        c = self.peek()
        if c is None:
            return ""
        ch = chr(c)
        if ch in "*+?":
            q = ch
            self.i += 1
        elif ch == "{":
            if not self._quantifier_ahead():
                if self.u:
                    raise JsRegexError("Incomplete quantifier")
                return ""
            end = self.chars.index(0x7D, self.i)
            body = "".join(chr(x) for x in self.chars[self.i + 1:end])
            self.i = end + 1
            lo_s, comma, hi_s = body.partition(",")
            lo = int(lo_s)
            hi = int(hi_s) if hi_s else None
            if hi is not None and hi < lo:
                raise JsRegexError("numbers out of order in {} quantifier")
            if lo > 1000 or (hi or 0) > 1000:
                self.re2_ok = False
            upper = "" if hi is None else str(min(hi, 2**31 - 1))
            q = f"{{{min(lo, 2**31 - 1)}{',' if comma else ''}{upper}}}"
        else:
            return ""
        if not quantifiable:
            raise JsRegexError("Invalid quantifier")
        if self.eat("?"):
            q += "?"
        c = self.peek()
        if c is not None and (chr(c) in "*+?" or (c == ord("{") and self._quantifier_ahead())):
            raise JsRegexError("Nothing to repeat")
        return q

    def group(self) -> tuple[str, bool]:
        self.i += 1  # (
        if self.eat("?"):
            c = self.peek()
            if self.eat(":"):
                prefix, quantifiable = "(?:", True
            elif self.eat("="):
                prefix, quantifiable = "(?=", not self.u
                self.re2_ok = False
            elif self.eat("!"):
                prefix, quantifiable = "(?!", not self.u
                self.re2_ok = False
            elif c == ord("<") and self.peek(1) in (ord("="), ord("!")):
                prefix = "(?<=" if self.peek(1) == ord("=") else "(?<!"
                self.i += 2
                quantifiable = False
                self.re2_ok = False
            elif self.eat("<"):
                name = self.group_name()
                if name in self.seen_names:
                    raise JsRegexError("Duplicate capture group name")
                self.seen_names.add(name)
                self.group_index += 1
                prefix, quantifiable = "(", True
            else:
                raise JsRegexError("Invalid group")
        else:
            self.group_index += 1
            prefix, quantifiable = "(", True
        body = self.disjunction()
        if not self.eat(")"):
            raise JsRegexError("Unterminated group")
        return prefix + body + ")", quantifiable

    def group_name(self) -> str:
        name: list[str] = []
        while True:
            c = self.peek()
            if c is None:
                raise JsRegexError("Invalid capture group name")
            self.i += 1
            if c == ord(">"):
                break
            if c == ord("\\"):
                if not self.eat("u"):
                    raise JsRegexError("Invalid capture group name")
                cp = self.unicode_escape_body(in_name=True)
                if cp is None:
                    raise JsRegexError("Invalid Unicode escape sequence")
                c = cp
            elif 0xD800 <= c <= 0xDBFF and not self.u:
                nxt = self.peek()
                if nxt is not None and 0xDC00 <= nxt <= 0xDFFF:
                    self.i += 1
                    c = 0x10000 + ((c - 0xD800) << 10) + (nxt - 0xDC00)
            ch = chr(c)
            ok = (ch in "$_" or _id_start(ch)) if not name else (ch in "$_\u200c\u200d" or _id_continue(ch))
            if not ok:
                raise JsRegexError("Invalid capture group name")
            name.append(ch)
        if not name:
            raise JsRegexError("Invalid capture group name")
        return "".join(name)

    def unicode_escape_body(self, in_name: bool = False) -> int | None:
        """After '\\u': the code point, or None when no valid escape follows (position unchanged)."""
        start = self.i
        if self.peek() == ord("{") and (self.u or in_name):
            j = self.i + 1
            hexdigits = []
            while (c := self.peek(j - self.i)) is not None and chr(c) in "0123456789abcdefABCDEF":
                hexdigits.append(chr(c))
                j += 1
            if hexdigits and self.peek(j - self.i) == ord("}") and int("".join(hexdigits), 16) <= MAX_CP:
                self.i = j + 1
                return int("".join(hexdigits), 16)
            return None
        cp = self._hex(4)
        if cp is None:
            self.i = start
            return None
        if self.u and 0xD800 <= cp <= 0xDBFF and self.peek() == ord("\\") and self.peek(1) == ord("u"):
            save = self.i
            self.i += 2
            low = self._hex(4)
            if low is not None and 0xDC00 <= low <= 0xDFFF:
                return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
            self.i = save
        return cp

    def _hex(self, n: int) -> int | None:
        digits = [self.peek(k) for k in range(n)]
        if any(d is None or chr(d) not in "0123456789abcdefABCDEF" for d in digits):
            return None
        self.i += n
        return int("".join(chr(d) for d in digits if d is not None), 16)

    def atom_escape(self) -> str:
        self.i += 1  # backslash
        c = self.peek()
        if c is None:
            raise JsRegexError("\\ at end of pattern")
        ch = chr(c)
        if ch.isdigit() and ch != "0" and c < 128:
            j = self.i
            while (d := self.peek(j - self.i)) is not None and 0x30 <= d <= 0x39:
                j += 1
            n = int("".join(chr(x) for x in self.chars[self.i:j]))
            if n <= self.groups:
                self.i = j
                self.re2_ok = False
                return f"(?:(?({n})\\{n}|))"
            if self.u:
                raise JsRegexError("Invalid escape")
            return self._legacy_octal_or_identity()
        if ch == "k" and (self.u or self.has_names):
            self.i += 1
            if not self.eat("<"):
                raise JsRegexError("Invalid named reference")
            name = self.group_name()
            if name not in self.names:
                raise JsRegexError("Invalid named capture referenced")
            self.re2_ok = False
            n = self.names[name]
            return f"(?:(?({n})\\{n}|))"
        cls = self.class_escape()
        if cls is not None:
            return _render_class(cls)
        return _lit(self.character_escape(in_class=False))

    def _legacy_octal_or_identity(self) -> str:
        c = self.peek()
        assert c is not None
        if 0x30 <= c <= 0x37:
            return _lit(self._octal())
        self.i += 1
        return _lit(c)

    def _octal(self) -> int:
        value = 0
        first = self.peek()
        limit = 3 if first is not None and first <= 0x33 else 2
        n = 0
        while n < limit and (d := self.peek()) is not None and 0x30 <= d <= 0x37:
            value = value * 8 + d - 0x30
            self.i += 1
            n += 1
        return value

    def class_escape(self) -> _Class | None:
        """At the character after '\\': a class escape (\\d, \\p{..}), consumed, or None."""
        c = self.peek()
        assert c is not None
        ch = chr(c)
        if ch in CLASS_ESCAPES:
            self.i += 1
            return _Class(CLASS_ESCAPES[ch], [], False)
        if ch in "pP" and self.u:
            self.i += 1
            if not self.eat("{"):
                raise JsRegexError("Invalid property name")
            try:
                end = self.chars.index(ord("}"), self.i)
            except ValueError:
                raise JsRegexError("Invalid property name") from None
            body = "".join(chr(x) for x in self.chars[self.i:end])
            self.i = end + 1
            self.re2_ok = False
            return _Class([], [(ch == "P", _property(body))], False)
        return None

    def character_escape(self, in_class: bool) -> int:
        c = self.peek()
        assert c is not None
        ch = chr(c)
        self.i += 1
        simple = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
        if ch in simple:
            return simple[ch]
        if ch == "c":
            nxt = self.peek()
            if nxt is not None and (0x41 <= nxt <= 0x5A or 0x61 <= nxt <= 0x7A):
                self.i += 1
                return nxt % 32
            if not self.u and in_class and nxt is not None and (0x30 <= nxt <= 0x39 or nxt == 0x5F):
                self.i += 1
                return nxt % 32
            if self.u:
                raise JsRegexError("Invalid unicode escape")
            self.i -= 1  # "\c" is a backslash and a "c"
            return 0x5C
        if ch == "0":
            nxt = self.peek()
            if nxt is None or not (0x30 <= nxt <= 0x39):
                return 0
            if self.u:
                raise JsRegexError("Invalid decimal escape")
            self.i -= 1
            return self._octal()
        if ch == "x":
            cp = self._hex(2)
            if cp is not None:
                return cp
            if self.u:
                raise JsRegexError("Invalid escape")
            return c
        if ch == "u":
            cp = self.unicode_escape_body()
            if cp is not None:
                return cp
            if self.u:
                raise JsRegexError("Invalid Unicode escape")
            return c
        if self.u:
            if ch in SYNTAX_CHARS or ch == "/" or (in_class and ch == "-"):
                return c
            raise JsRegexError("Invalid escape")
        if in_class and "1" <= ch <= "7":
            self.i -= 1
            return self._octal()
        return c

    def char_class(self) -> str:
        self.i += 1  # [
        negated = self.eat("^")
        ranges: Ranges = []
        props: list[tuple[bool, str]] = []
        while True:
            c = self.peek()
            if c is None:
                raise JsRegexError("Unterminated character class")
            if c == 0x5D:
                self.i += 1
                break
            left = self.class_atom()
            if self.peek() == 0x2D and self.peek(1) not in (None, 0x5D):
                self.i += 1
                right = self.class_atom()
                if isinstance(left, _Class) or isinstance(right, _Class):
                    if self.u:
                        raise JsRegexError("Invalid character class")
                    for atom in (left, right):
                        _add(atom, ranges, props)
                    ranges.append((0x2D, 0x2D))
                    continue
                if left > right:
                    raise JsRegexError("Range out of order in character class")
                ranges.append((left, right))
                continue
            _add(left, ranges, props)
        return _render_class(_Class(_normalise(ranges), props, negated))

    def class_atom(self) -> int | _Class:
        c = self.peek()
        assert c is not None
        if c != 0x5C:
            self.i += 1
            return c
        self.i += 1
        nxt = self.peek()
        if nxt is None:
            raise JsRegexError("\\ at end of pattern")
        if nxt == ord("b"):
            self.i += 1
            return 0x08
        if nxt == ord("-") and self.u:
            self.i += 1
            return 0x2D
        cls = self.class_escape()
        if cls is not None:
            return cls
        if self.u and 0x31 <= nxt <= 0x39:
            raise JsRegexError("Invalid class escape")
        if not self.u and nxt == ord("k"):
            self.i += 1
            return nxt
        return self.character_escape(in_class=True)


def _add(atom: int | _Class, ranges: Ranges, props: list[tuple[bool, str]]) -> None:
    if isinstance(atom, _Class):
        ranges.extend(atom.ranges)
        props.extend(atom.props)
    else:
        ranges.append((atom, atom))


def _id_start(ch: str) -> bool:
    return ch.isidentifier()


def _id_continue(ch: str) -> bool:
    return ("a" + ch).isidentifier() or unicodedata.category(ch) in ("Mn", "Mc", "Nd", "Pc")


def _join_surrogates(s: str) -> str:
    """A Python string from JSON may hold a pair of surrogates; JS sees one code point there."""
    if not any("\ud800" <= c <= "\udfff" for c in s):
        return s
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _lit(cp: int) -> str:
    # a marker the two renderers expand: RE2 and the regex package spell code points differently
    return f"\x00C{cp:x}\x00"


def _render_class(cls: _Class) -> str:
    parts = [f"\x00R{lo:x}-{hi:x}\x00" for lo, hi in cls.ranges]
    parts += [("\\P" if neg else "\\p") + "{" + name + "}" for neg, name in cls.props]
    if not parts:
        return "\x00ANY\x00" if cls.negated else "\x00NONE\x00"
    return ("[^" if cls.negated else "[") + "".join(parts) + "]"


def _cp_re2(cp: int) -> str:
    return f"\\x{{{cp:x}}}"


def _cp_py(cp: int) -> str:
    return f"\\U{cp:08x}" if cp > 0xFFFF else f"\\u{cp:04x}"


def _expand(marked: str, for_re2: bool) -> str:
    spell = _cp_re2 if for_re2 else _cp_py
    out: list[str] = []
    pieces = marked.split("\x00")
    for k, piece in enumerate(pieces):
        if k % 2 == 0:
            out.append(piece)
            continue
        if piece.startswith("C"):
            out.append(spell(int(piece[1:], 16)))
        elif piece.startswith("R"):
            lo, hi = (int(x, 16) for x in piece[1:].split("-"))
            out.append(spell(lo) if lo == hi else spell(lo) + "-" + spell(hi))
        elif piece == "END":
            out.append(r"\z" if for_re2 else r"\Z")
        elif piece == "WB":
            out.append(r"\b" if for_re2 else r"(?:(?<=[A-Za-z0-9_])(?![A-Za-z0-9_])|(?<![A-Za-z0-9_])(?=[A-Za-z0-9_]))")
        elif piece == "NWB":
            out.append(r"\B" if for_re2 else r"(?:(?<=[A-Za-z0-9_])(?=[A-Za-z0-9_])|(?<![A-Za-z0-9_])(?![A-Za-z0-9_]))")
        elif piece == "ANY":
            out.append(r"[\x{0}-\x{10ffff}]" if for_re2 else r"(?s:.)")
        elif piece == "NONE":
            out.append(r"[^\x{0}-\x{10ffff}]" if for_re2 else r"(?!)")
    return "".join(out)


def parse_js_regex(source: str, unicode: bool = True) -> Translation:
    parser = _Parser(source, unicode)
    marked = parser.parse()
    has_surrogate = any(0xD800 <= c <= 0xDFFF for c in parser.chars) or "\x00CD" in marked.upper()
    py = _expand(marked, for_re2=False)
    re2_src = None
    if parser.re2_ok and not has_surrogate:
        re2_src = _expand(marked, for_re2=True)
    return Translation(re2=re2_src, py=py)


def is_valid_js_regex(source: str, unicode: bool) -> bool:
    try:
        _Parser(source, unicode).parse()
    except (JsRegexError, RecursionError):
        return False
    return True


class GuardedRegex:
    """A tenant's pattern, searched in linear time when RE2 can, else with a timeout."""

    __slots__ = ("_re2", "_py", "_py_source")

    def __init__(self, translation: Translation) -> None:
        self._py_source = translation.py
        self._py: regex.Pattern[str] | None = None
        self._re2 = None
        if translation.re2 is not None and re2 is not None:
            try:
                options = re2.Options()
                options.max_mem = 8 << 20
                self._re2 = re2.compile(translation.re2, options)
            except Exception:  # noqa: BLE001 - RE2 refuses what it cannot express
                self._re2 = None
        if self._re2 is None:
            self._py = regex.compile(translation.py, regex.V0)

    def search(self, subject: str) -> bool:
        """True when the pattern occurs in subject; False past MAX_SUBJECT or on timeout."""
        if len(subject) > MAX_SUBJECT:
            return False
        if self._re2 is not None:
            try:
                return self._re2.search(subject) is not None
            except UnicodeEncodeError:  # a lone surrogate: RE2 takes UTF-8 only
                pass
        py = self._py
        if py is None:
            py = self._py = regex.compile(self._py_source, regex.V0)
        try:
            return py.search(_join_surrogates(subject), timeout=TIMEOUT) is not None
        except TimeoutError:
            return False


@lru_cache(maxsize=512)
def compile_js_pattern(source: str) -> GuardedRegex:
    """``new RegExp(source, "u")`` as a guarded matcher; JsRegexError where V8 throws."""
    return GuardedRegex(parse_js_regex(source, unicode=True))
