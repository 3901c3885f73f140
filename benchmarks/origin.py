"""A local stand-in for 50 news sites: one asyncio process answering on 127.0.0.2 ... 127.0.0.51.

Every page is a generated news article of 30-100 KB (deterministic for a seed), answered after a
fixed latency, gzip-compressed when the client accepts it, one request per connection.
Run on its own: python benchmarks/origin.py --pages 1000 (prints "READY <port>" when listening).
With --hits-file it writes the number of requests per article, {"<index>": hits}, when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

HOSTS = tuple(f"127.0.0.{2 + n}" for n in range(50))
DEFAULT_SEED = 20240917
DEFAULT_LATENCY = 0.1
_PATH = re.compile(rb"^GET /article/(\d+) HTTP/1\.[01]\r\n")

_WORD_LIST = (
    "the of and to in a is that for on was with as by at from government minister said report "
    "percent year million official data council budget election health policy public spending "
    "figures according statement claimed during increase decrease since last week month people "
    "country city national local department agency study survey analysis researchers evidence "
    "record number rate growth economy jobs unemployment inflation prices housing schools "
    "hospital police crime court law vote campaign party leader opposition spokesperson "
    "interview press conference announced published warned confirmed denied suggested however "
    "although while because after before between under over more than less most about around "
    "nearly almost only also still already again new old first second third former current "
    "many several few some every each both other such their its our this these those which "
    "who whom whose where when why how would could should might will must can may does did "
    "has had have been being were are not no yes water energy climate emissions transport "
    "railway road airport tax income pension benefits wages workers union strike negotiations "
    "trade exports imports tariffs border migration asylum visa security defence military "
    "europe africa asia america region province district village market shop company firm "
    "bank investment fund loan debt deficit surplus revenue cost costs billion thousand"
)
_WORDS = _WORD_LIST.split()
_NAMES = (
    "Amira Haddad", "Jonas Berger", "Lucía Romero", "Kwame Mensah", "Sofia Lindqvist",
    "Daniel Okafor", "Mei Tanaka", "Pierre Lefèvre", "Hannah Schmidt", "Ravi Iyer",
)
_SECTIONS = ("Politics", "Economy", "World", "Health", "Climate", "Science", "Business", "Opinion")


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(9, 26))
    if rng.random() < 0.15:
        start = rng.randrange(len(words) - 3)
        words[start] = "\u201c" + words[start]
        words[start + 2] += "\u201d"
    if rng.random() < 0.1:
        words.insert(rng.randrange(1, len(words)), "\u2014")
    figure = f" {rng.randint(2, 98)}.{rng.randint(0, 9)} percent" if rng.random() < 0.2 else ""
    return " ".join(words).capitalize() + figure + "."


def _links(rng: random.Random, count: int, prefix: str) -> str:
    items = []
    for _ in range(count):
        title = " ".join(rng.choices(_WORDS, k=rng.randint(2, 6))).capitalize()
        items.append(f'<li class="menu-item"><a href="/{prefix}/{rng.randint(1000, 99999)}" '
                     f'data-track="nav-{rng.randint(1, 999)}">{title}</a></li>')
    return "\n".join(items)


def _teasers(rng: random.Random, count: int) -> str:
    items = []
    for _ in range(count):
        slug = rng.randint(100000, 999999)
        title = " ".join(rng.choices(_WORDS, k=rng.randint(6, 11))).capitalize()
        items.append(
            f'<li class="teaser"><a href="/article/{slug}"><picture><source type="image/webp" '
            f'srcset="/img/{slug}-320.webp 320w, /img/{slug}-640.webp 640w"><img src="/img/{slug}'
            f'-320.jpg" alt="" loading="lazy" width="320" height="180"></picture>'
            f'<span class="teaser-title">{title}</span></a></li>'
        )
    return "\n".join(items)


def _script(rng: random.Random, size: int) -> str:
    """Inline JavaScript of about `size` characters, like the tracking and ad code of news sites."""
    lines = []
    total = 0
    while total < size:
        name = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 10)))
        keys = ",".join(f'"{rng.choice(_WORDS)}":{rng.randint(0, 9999)}' for _ in range(rng.randint(3, 9)))
        line = (f"function {name}(e,t){{var n={{{keys}}};return e&&e.length?e.map(function(r)"
                f"{{return n[r]||t}}):window.__{name}=n}}")
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def article(index: int, seed: int = DEFAULT_SEED) -> tuple[str, str]:
    """The HTML of article `index` and a sentence quoted from its body (for evidence).

    Like a news site's page, about a quarter of the bytes are the article's text; the rest is
    head, styles, scripts, navigation, teasers and footer.
    """
    rng = random.Random(f"{seed}:{index}")
    target = rng.randint(30_000, 100_000)
    text_budget = int(target * rng.uniform(0.2, 0.32))
    section = rng.choice(_SECTIONS)
    author = rng.choice(_NAMES)
    headline = " ".join(rng.choices(_WORDS, k=rng.randint(6, 12))).capitalize()
    date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    head = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{headline} | The Daily Example</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="author" content="{author}">
<meta name="description" content="{_sentence(rng)}">
<meta property="og:title" content="{headline}">
<meta property="og:type" content="article">
<meta property="og:image" content="https://img.example/{index}/social.jpg">
<meta property="article:published_time" content="{date}T08:{rng.randint(10, 59)}:00Z">
<meta property="article:section" content="{section}">
<link rel="canonical" href="/article/{index}">
<link rel="stylesheet" href="/static/site.css">
<style>body{{font-family:Georgia,serif;margin:0}}.nav a{{padding:0 .5em}}.byline{{color:#555}}
.teaser img{{width:100%;height:auto}}.related li{{margin:.3em 0}}footer{{background:#222;color:#eee}}
@media (max-width:600px){{.nav{{display:none}}.teaser-title{{font-size:.9em}}}}</style>
<script>{_script(rng, rng.randint(2_000, 6_000))}</script>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"{headline}","datePublished":"{date}","author":{{"@type":"Person","name":"{author}"}}}}
</script></head>
<body class="article-page section-{section.lower()}">
<a class="skip" href="#content">Skip to content</a>
<header><div class="logo"><a href="/">The Daily Example</a></div>
<nav class="nav"><ul>{_links(rng, rng.randint(25, 45), "section")}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>
<main id="content"><article><h1>{headline}</h1>
<p class="byline">By <span class="author">{author}</span>, {section} correspondent ·
<time datetime="{date}">{date}</time></p>
<figure><img src="https://img.example/{index}/lead.jpg" alt="" width="1200" height="675">
<figcaption>{_sentence(rng)}</figcaption></figure>
"""
    parts = [head]
    quote = ""
    written = 0
    paragraph = 0
    while written < text_budget:
        if paragraph and paragraph % 5 == 0:
            subhead = " ".join(rng.choices(_WORDS, k=rng.randint(3, 7))).capitalize()
            parts.append(f"<h2>{subhead}</h2>\n")
        if paragraph == 4:
            parts.append(f'<aside class="read-more"><h3>Read more</h3><ul>{_teasers(rng, 2)}</ul></aside>\n')
        sentences = [_sentence(rng) for _ in range(rng.randint(2, 5))]
        if paragraph == 2:
            quote = sentences[0]
        if rng.random() < 0.3:
            sentences[-1] = f'<a href="/article/{rng.randint(1000, 99999)}">{sentences[-1]}</a>'
        tag = "blockquote" if rng.random() < 0.05 else "p"
        block = f"<{tag}>{' '.join(sentences)}</{tag}>\n"
        parts.append(block)
        written += len(block)
        paragraph += 1
    parts.append(f"""</article>
<aside class="related"><h2>Most read</h2><ol>{_teasers(rng, 10)}</ol></aside>
<section class="newsletter"><h2>Sign up</h2><form action="/newsletter"><input type="email"
name="email"><button>Subscribe</button></form></section></main>
<footer><ul>{_links(rng, rng.randint(30, 50), "page")}</ul>
<p>© 2024 The Daily Example. All rights reserved.</p></footer>
""")
    size = sum(len(part) for part in parts)
    closing = "</body></html>\n"
    filler = max(0, target - size - len(closing) - 40)
    parts.append(f'<script src="/static/ads.js" async></script>\n<script>{_script(rng, filler)}</script>\n')
    parts.append(closing)
    return "".join(parts), quote


def article_path(index: int) -> str:
    return f"/article/{index}"


def article_url(index: int, port: int) -> str:
    """The URL of article `index`: consecutive articles live on different hosts."""
    return f"http://{HOSTS[index % len(HOSTS)]}:{port}{article_path(index)}"


def _response(body: bytes, *, gzipped: bool) -> bytes:
    headers = [
        "HTTP/1.1 200 OK",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Cache-Control: max-age=60",
        "Server: origin-bench",
        "Connection: close",
    ]
    if gzipped:
        headers.append("Content-Encoding: gzip")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body


_TICKS = os.sysconf("SC_CLK_TCK")
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _Pages:
    """Rendered responses, built ahead of time so the origin spends little CPU while serving."""

    def __init__(self, count: int, seed: int) -> None:
        self.seed = seed
        self.plain: dict[int, bytes] = {}
        self.gzipped: dict[int, bytes] = {}
        for index in range(count):
            self._render(index)

    def _render(self, index: int) -> None:
        body = article(index, self.seed)[0].encode("utf-8")
        self.plain[index] = _response(body, gzipped=False)
        self.gzipped[index] = _response(gzip.compress(body, 6), gzipped=True)

    def get(self, index: int, *, gzipped: bool) -> bytes:
        if index not in self.plain:
            self._render(index)
        return (self.gzipped if gzipped else self.plain)[index]


def _bind_all(port: int) -> list[socket.socket]:
    """A listening socket on every host for one port (0: the first free port for all of them)."""
    for _ in range(50):
        sockets: list[socket.socket] = []
        try:
            chosen = port
            for host in HOSTS:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, chosen))
                sock.listen(512)
                sock.setblocking(False)
                chosen = sock.getsockname()[1]
            return sockets
        except OSError:
            for sock in sockets:
                sock.close()
            if port:
                raise
    raise OSError("no port is free on all 50 origin addresses")


async def _serve(sockets: list[socket.socket], pages: _Pages, latency: float, hits: Counter[int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            match = _PATH.match(head)
            await asyncio.sleep(latency)
            if match is None:
                writer.write(_NOT_FOUND)
            else:
                hits[int(match.group(1))] += 1
                accepts_gzip = b"gzip" in head.lower().partition(b"accept-encoding:")[2][:80]
                writer.write(pages.get(int(match.group(1)), gzipped=accepts_gzip))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, sock=sock, backlog=512) for sock in sockets]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"READY {sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


class Origin:
    """Runs the origin in its own process for the duration of a `with` block."""

    def __init__(
        self, *, pages: int, seed: int = DEFAULT_SEED, latency: float = DEFAULT_LATENCY,
        hits_file: Path | None = None,
    ):
        self.args = ["--pages", str(pages), "--seed", str(seed), "--latency", str(latency)]
        if hits_file is not None:
            self.args += ["--hits-file", str(hits_file)]
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> Origin:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *self.args],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.__exit__()
            raise RuntimeError("the origin did not start")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_process(self.process)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies, so no process outlives a run."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()


def proc_status_kb(pid: int, field: str) -> int:
    """A /proc/<pid>/status value in kB (VmHWM, VmRSS), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> Iterator[int]:
    """pid and all its descendants."""
    yield pid
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                yield from process_tree(int(child))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def processes_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process, with its command name, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat.rpartition(")")[2].split()
                found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / _TICKS)
    return found


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU seconds since boot that this machine spent busy, and that its hypervisor took (steal)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq) / _TICKS, steal / _TICKS


class CpuWindow:
    """Who used the CPU between start() and stop(): the benchmark's own processes or others."""

    def start(self) -> None:
        self.started = time.monotonic()
        self.busy, self.steal = machine_cpu_seconds()
        self.before = processes_cpu()

    def stop(self, groups: dict[str, Callable[[int, str], bool]]) -> dict[str, float]:
        """CPU seconds per group (a pid/name predicate), "other", "busy_cores" and "steal"."""
        seconds = time.monotonic() - self.started
        busy_now, steal_now = machine_cpu_seconds()
        busy, steal = busy_now - self.busy, steal_now - self.steal
        used = dict.fromkeys(groups, 0.0)
        for pid, (name, cpu) in processes_cpu().items():
            delta = cpu - self.before.get(pid, (name, 0.0))[1]
            for group, member in groups.items():
                if member(pid, name):
                    used[group] += delta
                    break
        used = {group: round(value, 1) for group, value in used.items()}
        used["other"] = round(max(0.0, busy - sum(used.values())), 1)
        used["busy_cores"] = round(busy / seconds, 2)
        # Time the hypervisor gave to other guests: high values mean the figures are not reliable.
        used["steal"] = round(steal, 1)
        return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pages", type=int, default=1000, help="articles rendered ahead of time")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--latency", type=float, default=DEFAULT_LATENCY)
    parser.add_argument("--hits-file", type=Path, help="where to write the requests per article on exit")
    args = parser.parse_args()
    pages = _Pages(args.pages, args.seed)
    hits: Counter[int] = Counter()
    asyncio.run(_serve(_bind_all(args.port), pages, args.latency, hits))
    if args.hits_file is not None:
        args.hits_file.write_text(json.dumps({str(index): count for index, count in hits.items()}))


if __name__ == "__main__":
    main()
