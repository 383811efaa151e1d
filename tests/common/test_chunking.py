"""split_text: chunks that fit, cut at the best boundary, with nothing lost."""

import random
import re
import string

import pytest

from common.chunking import split_text

OPENING_FENCE = re.compile(r" {0,3}(?:`{3,}|~{3,})[^\n]*\n")
CLOSING_FENCE = re.compile(r"\n {0,3}(?:`{3,}|~{3,})\Z")


def sentences(n: int, *, seed: int = 0) -> str:
    """n distinct English-ish sentences separated by single spaces."""
    rng = random.Random(seed)
    words = ["alert", "pod", "restarted", "node", "memory", "pressure", "the", "on", "was"]
    return " ".join(
        " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))).capitalize() + f" {i}."
        for i in range(n)
    )


def cores(chunk: str) -> set[str]:
    """The chunk, and the chunk without what may be an added opening or closing fence line."""
    heads, tails = [0], [len(chunk)]
    if opening := OPENING_FENCE.match(chunk):
        heads.append(opening.end())
    if closing := CLOSING_FENCE.search(chunk):
        tails += [closing.start(), closing.start() + 1]  # the newline may be the text's
    return {chunk[h:t] for h in heads for t in tails if h < t}


def past_spaces(text: str, ends: set[int]) -> set[int]:
    """The positions, and each position inside or after a run of whitespace starting at one."""
    reached = set(ends)
    for end in ends:
        while end < len(text) and text[end].isspace():
            end += 1
            reached.add(end)
    return reached


def reassembles(chunks: list[str], text: str) -> bool:
    """Whether the chunks are consecutive slices of text, each maybe wrapped in fence lines,
    with nothing left out between them but whitespace.

    Tracks every position the slices so far could end at, so an added fence line and a
    look-alike line of the text itself cannot be confused.
    """
    ends = {0}
    for chunk in chunks:
        starts = past_spaces(text, ends)
        ends = {end + len(c) for end in starts for c in cores(chunk) if text.startswith(c, end)}
    return len(text) in past_spaces(text, ends)


def check_sizes(chunks: list[str], max_chars: int) -> None:
    assert chunks
    assert all(len(chunk) <= max_chars and chunk.strip() for chunk in chunks)


def test_short_text_is_returned_unchanged() -> None:
    text = "  Disk full on node-3.\n```\nrm -rf /tmp\n"
    assert split_text(text, max_chars=len(text)) == [text]
    assert split_text("ok", max_chars=2000, overlap_chars=10) == ["ok"]


@pytest.mark.parametrize("text", ["", " ", "\n\n\t  \n" * 1000])
def test_empty_or_blank_text_gives_no_chunks(text: str) -> None:
    assert split_text(text, max_chars=100) == []


def test_prose_splits_at_paragraphs() -> None:
    paragraphs = [sentences(4, seed=i) for i in range(20)]
    text = "\n\n".join(paragraphs)
    max_chars = 3 * max(map(len, paragraphs))
    chunks = split_text(text, max_chars=max_chars)
    check_sizes(chunks, max_chars)
    assert "".join(chunks) == text
    assert len(chunks) > 2
    for chunk in chunks[:-1]:
        assert chunk.endswith(".\n\n")
        assert len(chunk) >= max_chars // 2


def test_a_long_paragraph_splits_at_sentence_ends() -> None:
    text = sentences(200)
    chunks = split_text(text, max_chars=500)
    check_sizes(chunks, 500)
    assert "".join(chunks) == text
    assert all(chunk.endswith(". ") and len(chunk) >= 250 for chunk in chunks[:-1])


def test_line_breaks_beat_sentence_ends() -> None:
    text = "\n".join(sentences(3, seed=i) for i in range(30))
    chunks = split_text(text, max_chars=400)
    assert "".join(chunks) == text
    assert all(chunk.endswith(".\n") for chunk in chunks[:-1])


def test_a_code_block_that_fits_is_kept_whole() -> None:
    block = "```python\ndef f():\n\n    return 1. \n\n\nprint(f())\n```\n"
    text = sentences(5) + "\n" + block + sentences(5, seed=1)
    max_chars = len(block) + 40
    chunks = split_text(text, max_chars=max_chars)
    check_sizes(chunks, max_chars)
    assert "".join(chunks) == text
    assert any(block in chunk for chunk in chunks)


def test_an_oversized_code_block_is_split_at_lines_and_refenced() -> None:
    lines = [f"    step_{i} = run(step_{i - 1})\n" for i in range(60)]
    opening = "~~~python\n"
    text = opening + "".join(lines) + "~~~\n"
    chunks = split_text(text, max_chars=300)
    check_sizes(chunks, 300)
    assert len(chunks) > 3
    assert all(chunk.startswith(opening) for chunk in chunks)
    assert all(chunk.endswith("\n~~~") for chunk in chunks[:-1])
    # Dropping the added fence lines gives back the text exactly.
    inner = [chunk.removesuffix("~~~") for chunk in chunks[:-1]] + [chunks[-1]]
    assert inner[0] + "".join(chunk.removeprefix(opening) for chunk in inner[1:]) == text
    assert all(len(chunk) >= 150 for chunk in chunks[:-1])


def test_a_code_line_longer_than_a_chunk_is_cut_and_still_fenced() -> None:
    text = "```\n" + "x" * 700 + "\nshort line\n```\nafter"
    chunks = split_text(text, max_chars=200)
    check_sizes(chunks, 200)
    assert all(chunk.startswith("```\n") for chunk in chunks)
    assert reassembles(chunks, text)


def test_prose_around_an_oversized_block_keeps_its_boundaries() -> None:
    code = "```sh\n" + "".join(f"kubectl get pod p{i}\n" for i in range(50)) + "```\n"
    text = sentences(6) + "\n\n" + code + "\n" + sentences(6, seed=1)
    chunks = split_text(text, max_chars=250)
    check_sizes(chunks, 250)
    assert reassembles(chunks, text)
    fenced = [chunk for chunk in chunks if "kubectl" in chunk]
    assert all(chunk.count("```") == 2 for chunk in fenced)


def test_a_run_without_whitespace_is_hard_cut() -> None:
    blob = "QUJD" * 2500
    assert split_text(blob, max_chars=2000) == [blob[i : i + 2000] for i in range(0, 10_000, 2000)]
    url = "https://example.com/" + "a" * 300
    text = "see " + url + " for details"
    chunks = split_text(text, max_chars=100)
    check_sizes(chunks, 100)
    assert chunks[0] == "see "
    assert "".join(chunks) == text


def test_whitespace_alone_never_makes_a_chunk() -> None:
    blob = "x" * 100
    assert split_text(blob + "\n\n", max_chars=100) == [blob]
    assert split_text(blob + " " * 250 + blob, max_chars=100) == [blob, blob]
    assert split_text("a b", max_chars=1) == ["a", "b"]


def test_non_ascii_text_is_measured_in_code_points() -> None:
    cjk = "".join(f"节点{i}的内存压力很高。" for i in range(100))
    chunks = split_text(cjk, max_chars=120)
    check_sizes(chunks, 120)
    assert "".join(chunks) == cjk
    assert all(chunk.endswith("。") for chunk in chunks[:-1])

    mixed = " ".join(["Déjà vu 🚀🔥 naïve café\uff01", "再见\uff1f", "👍🏽 ok."] * 80)
    chunks = split_text(mixed, max_chars=50, overlap_chars=10)
    check_sizes(chunks, 50)
    assert chunks[0].startswith("Déjà vu 🚀🔥")


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = "\n\n".join(sentences(5, seed=i) for i in range(40))
    chunks = split_text(text, max_chars=400, overlap_chars=60)
    check_sizes(chunks, 400)
    end = len(chunks[0])
    assert text.startswith(chunks[0])
    for chunk in chunks[1:]:
        start = text.index(chunk, end - 60)
        assert start <= end
        assert start == end or text[start - 1] == " " or text[start - 1] == "\n"
        end = start + len(chunk)
    assert end == len(text)


@pytest.mark.parametrize(
    ("max_chars", "overlap_chars"), [(0, 0), (-5, 0), (10, -1), (10, 5), (10, 10), (1, 1)]
)
def test_invalid_parameters_raise(max_chars: int, overlap_chars: int) -> None:
    with pytest.raises(ValueError):
        split_text("some text", max_chars=max_chars, overlap_chars=overlap_chars)


PIECES = [
    *"abcdefgh",
    "word",
    "Alert fired.",
    "Why?",
    "ok!",
    " ",
    " ",
    "  ",
    "\t",
    "\n",
    "\n",
    "\n\n",
    "\n \n",
    "。",
    "\uff01",
    "内存",
    "🚀",
    "é",
    "\n```\n",
    "\n```py\n",
    "\n~~~\n",
    "\n  ````\n",
    "```",
]


def random_text(rng: random.Random) -> str:
    pieces = [rng.choice(PIECES) for _ in range(rng.randint(0, 400))]
    if rng.random() < 0.3:
        pieces.insert(
            rng.randint(0, len(pieces)), "".join(rng.choices(string.ascii_letters, k=500))
        )
    return "".join(pieces)


def test_nothing_is_lost_on_random_texts() -> None:
    rng = random.Random(20260415)
    for _ in range(600):
        text, max_chars = random_text(rng), rng.randint(1, 120)
        chunks = split_text(text, max_chars=max_chars)
        if not text.strip():
            assert chunks == []
            continue
        check_sizes(chunks, max_chars)
        assert reassembles(chunks, text)
        overlap = rng.randint(0, (max_chars - 1) // 2)
        overlapped = split_text(text, max_chars=max_chars, overlap_chars=overlap)
        check_sizes(overlapped, max_chars)
        assert all(any(core in text for core in cores(chunk)) for chunk in overlapped)


def fenced_block(rng: random.Random) -> str:
    marker = rng.choice(["```", "~~~", "````"])
    lines = ["x = 1\n", "\n", "if a. b! c?\n", "\u5185\u5b58\u3002\n", "  y\n"]
    body = "".join(rng.choice(lines) for _ in range(rng.randint(0, 12)))
    return f"{marker}{rng.choice(['', 'py'])}\n{body}{marker}\n"


def test_code_blocks_that_fit_are_never_cut_in_random_texts() -> None:
    rng = random.Random(3)
    for _ in range(300):
        blocks = [fenced_block(rng) for _ in range(6)]
        prose = [
            sentences(rng.randint(0, 4), seed=i) + rng.choice(["\n", "\n\n"]) for i in range(6)
        ]
        text = "".join(p + b for p, b in zip(prose, blocks, strict=True))
        max_chars = rng.randint(max(map(len, blocks)), 300)
        chunks = split_text(text, max_chars=max_chars, overlap_chars=rng.randint(0, max_chars // 3))
        check_sizes(chunks, max_chars)
        assert all(any(block in chunk for chunk in chunks) for block in blocks)


def test_overlapping_chunks_cover_random_texts() -> None:
    rng = random.Random(7)
    for _ in range(500):
        words = [
            "".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 30))) for _ in range(80)
        ]
        seps = [" ", "\n", "\n\n", ". ", "。"]
        text = "".join(word + rng.choice(seps) for word in words)
        max_chars = rng.randint(10, 200)
        overlap = rng.randint(0, (max_chars - 1) // 2)
        chunks = split_text(text, max_chars=max_chars, overlap_chars=overlap)
        check_sizes(chunks, max_chars)
        assert text.startswith(chunks[0])
        end = len(chunks[0])
        for chunk in chunks[1:]:
            # Up to `overlap` of what came before, or after whitespace left out; then new text.
            gap = len(text) - end - len(text[end:].lstrip())
            start = next(
                s
                for s in range(max(end - overlap, 0), end + gap + 1)
                if s + len(chunk) > end and text.startswith(chunk, s)
            )
            end = start + len(chunk)
        assert end + len(text[end:].lstrip()) == len(text)


def test_a_megabyte_message_is_split() -> None:
    rng = random.Random(1)
    parts = [sentences(3, seed=i) + "\n\n" for i in range(50)]
    parts += ["```\n" + "log line\n" * 40 + "```\n", "Z" * 5000 + "\n", "日志。" * 300 + "\n"]
    pieces: list[str] = []
    size = 0
    while size < 1_000_000:
        pieces.append(rng.choice(parts))
        size += len(pieces[-1])
    text = "".join(pieces)
    for overlap in (0, 200):
        chunks = split_text(text, max_chars=2000, overlap_chars=overlap)
        check_sizes(chunks, 2000)
        assert len(chunks) >= len(text) // 2000
    assert "".join(split_text(text, max_chars=2000)) == text
