"""Split a long chat message into chunks that fit an embedding model's context."""

import re
from bisect import bisect_left, bisect_right
from typing import NamedTuple

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$", re.MULTILINE)
_PARAGRAPH = re.compile(r"\n[ \t\r]*\n")
_LINE = re.compile(r"\n")
# The CJK full stop and fullwidth ! and ? end a sentence with no space after them.
_SENTENCE = re.compile(r"[.!?]+\s+|[\u3002\uff01\uff1f]+")
_SPACE = re.compile(r"\s+")
_ANY = re.compile(r".", re.DOTALL)
# Boundaries best first; None stands for the start or end of a fenced code block.
_LEVELS = (_PARAGRAPH, None, _LINE, _SENTENCE, _SPACE)


class _Block(NamedTuple):
    """A fenced code block text[start:end]; its body (between the fence lines) is body:close."""

    start: int
    body: int
    close: int
    end: int
    fence: str
    split: bool


def split_text(text: str, *, max_chars: int, overlap_chars: int = 0) -> list[str]:
    """Split text into non-empty chunks of at most max_chars code points, losing nothing.

    Each cut goes at the best boundary that leaves the chunk about half full or more: a blank
    line, the start or end of a fenced code block, a line break, a sentence end, whitespace,
    else anywhere. A code block that fits in a chunk is never cut; a longer one is cut at
    lines and each piece wrapped in copies of its fence lines. Without those added lines, and
    with overlap_chars=0, the chunks are consecutive slices: "".join(chunks) == text, except
    that a piece of only whitespace is left out. With overlap_chars > 0, each chunk starts
    with up to that much of the previous one's tail.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if overlap_chars < 0 or 2 * overlap_chars >= max_chars:
        raise ValueError(f"overlap_chars must be >= 0 and < max_chars/2, got {overlap_chars}")
    if not text.strip():
        return []
    if len(text) <= max_chars:
        return [text]
    return _Splitter(text, max_chars, overlap_chars).split()


def _find_blocks(text: str, max_chars: int) -> list[_Block]:
    """Fenced code blocks that fit in a chunk or can be split with their fences repeated."""
    found: list[_Block] = []
    size, opener, fence, start, body = len(text), "", "", 0, 0
    for m in _FENCE.finditer(text):
        indent, marker, info = m.groups()
        if not opener:
            if marker[0] == "~" or "`" not in info:  # CommonMark: ``` then ` is inline code
                opener, fence, start, body = marker, indent + marker, m.start(), m.end() + 1
        elif marker.startswith(opener) and not info.strip():
            end = min(m.end() + 1, size)
            found.append(_Block(start, body, m.start(), end, fence, end - start > max_chars))
            opener = ""
    if opener:
        found.append(_Block(start, min(body, size), size, size, fence, size - start > max_chars))
    # A too-long block whose fence lines would fill half a chunk is cut like prose instead.
    return [b for b in found if not b.split or 2 * _overhead(b) <= max_chars]


def _overhead(b: _Block) -> int:
    """The most that repeating its fence lines can add to a piece of a split block."""
    return b.body - b.start + max(b.end - b.close, len(b.fence) + 1)


def _last_match(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> int | None:
    """The end of the last match ending in (lo, hi], searching back from hi in growing steps."""
    step = 64
    while hi > lo:
        seg = max(lo, hi - step)
        # Start 2 back so a short match that straddles seg is still seen.
        ends = [m.end() for m in pattern.finditer(text, max(seg - 2, 0), hi) if m.end() > seg]
        if ends:
            return ends[-1]
        hi, step = seg, step * 4
    return None


class _Splitter:
    """One split_text call: the text, its code blocks and the chunking loop."""

    def __init__(self, text: str, max_chars: int, overlap_chars: int) -> None:
        self.text, self.max_chars, self.overlap_chars = text, max_chars, overlap_chars
        self.blocks = _find_blocks(text, max_chars)
        self.starts = [b.start for b in self.blocks]
        self.bounds = [x for b in self.blocks for x in (b.start, b.end)]

    def split(self) -> list[str]:
        """Greedily cut chunks; `fresh` is where the text not yet in any chunk begins."""
        chunks: list[str] = []
        start, fresh, size = 0, 0, len(self.text)
        while True:
            limit = start + self.max_chars - len(self._prefix(start))
            cut = size if size <= limit else self._cut(start, fresh, limit)
            if cut is None:  # the overlap left no room to keep a code block whole: drop it
                assert start < fresh, "without overlap there is always a cut"
                start = fresh
                continue
            piece = self._piece(start, cut)
            if piece.strip():  # whitespace alone (a run longer than a chunk) is no use to search
                chunks.append(piece)
            if cut == size:
                return chunks
            start, fresh = self._overlap_start(start, cut), cut

    def _cut(self, start: int, fresh: int, limit: int) -> int | None:
        """The best cut in (fresh, limit], preferring one that leaves the chunk half full."""
        half = max(fresh, start + self.max_chars // 2)
        spans = [(lo, hi) for lo, hi in ((half, limit), (fresh, half)) if lo < hi]
        tries = [(lo, hi, level) for lo, hi in spans for level in _LEVELS]
        for lo, hi, level in [*tries, (fresh, limit, _ANY)]:
            if (cut := self._last(level, lo, hi, limit)) is not None:
                return cut
        return None

    def _last(self, level: re.Pattern[str] | None, lo: int, hi: int, limit: int) -> int | None:
        """The last allowed cut of this level in (lo, hi]."""
        if level is None:
            i = bisect_right(self.bounds, hi) - 1
            return self.bounds[i] if i >= 0 and self.bounds[i] > lo else None
        in_code = level in (_LINE, _SPACE, _ANY)
        for a, b in reversed(self._ranges(lo, hi, limit, in_code)):
            if (cut := _last_match(level, self.text, a, b)) is not None:
                return cut
        return None

    def _ranges(self, lo: int, hi: int, limit: int, in_code: bool) -> list[tuple[int, int]]:
        """The parts (a, b] of (lo, hi] outside code blocks, and if in_code, in the body of a
        split block leaving room for its closing fence."""
        ranges = []
        first, last = max(bisect_right(self.starts, lo) - 1, 0), bisect_left(self.starts, hi)
        for b in map(self.blocks.__getitem__, range(first, last)):
            ranges.append((lo, min(b.start, hi)))
            if b.split and in_code:
                ranges.append((max(lo, b.body), min(hi, b.close - 1, limit - len(b.fence) - 1)))
            lo = max(lo, b.end - 1)
        ranges.append((lo, hi))
        return [(a, b) for a, b in ranges if a < b]

    def _overlap_start(self, start: int, cut: int) -> int:
        """Where the next chunk starts: up to overlap_chars before cut."""
        if not self.overlap_chars:
            return cut
        p = max(cut - self.overlap_chars, start)
        if p > 0:  # start at a line, else a word, that begins early enough to repeat something
            found = (pattern.search(self.text, p - 1, cut) for pattern in (_LINE, _SPACE))
            p = next((m.end() for m in found if m and self.text[m.end() : cut].strip()), p)
        b = self._inside(p)
        if b is None:
            return p
        # Never start inside a fence line or inside a block kept whole.
        return max(p, b.body) if b.split and p < b.close else b.end

    def _inside(self, x: int) -> _Block | None:
        """The code block with x strictly inside it, if any."""
        i = bisect_right(self.starts, x) - 1
        if i >= 0 and self.blocks[i].start < x < self.blocks[i].end:
            return self.blocks[i]
        return None

    def _prefix(self, start: int) -> str:
        b = self._inside(start)
        return self.text[b.start : b.body] if b and b.split and b.body <= start < b.close else ""

    def _suffix(self, end: int) -> str:
        b = self._inside(end)  # never a block kept whole: no cut falls inside one
        return "" if b is None else ("" if self.text[end - 1] == "\n" else "\n") + b.fence

    def _piece(self, start: int, end: int) -> str:
        return self._prefix(start) + self.text[start:end] + self._suffix(end)
