"""Documents for fetcher tests: the seed article as an HTML page, and minimal valid PDFs."""

from __future__ import annotations

ARTICLE_PARAGRAPHS = [
    "The United States has said that defence cooperation between Russia and Iran is "
    "strengthening and that Moscow has acquired hundreds of drones from Tehran that have also "
    "been used to attack Ukraine.",
    "In classified documents released by Reuters, the White House said the drones were "
    "manufactured in Iran, transported via the Caspian Sea, and used by Russian forces against "
    "Ukraine.",
    "According to spokesman John Kirby, the United States had information that Russia was "
    "acquiring materials from Iran to build a drone manufacturing plant that would be fully "
    "operational early next year.",
    "He said that they are releasing photos of the location of the plant, which will be "
    "established in Russia\u2019s Alaboga Special Economic Zone.",
    "Iran has also admitted to sending drones to Russia, but Iran says that these drones were "
    "exported before the attack on Ukraine.",
]
ARTICLE_TITLE = "Russia acquires hundreds of Iranian drones for attack on Ukraine, White House"


def article_html(charset_meta: bool = True) -> str:
    paragraphs = "\n".join(f"<p>{text}</p>" for text in ARTICLE_PARAGRAPHS)
    meta = '<meta charset="utf-8">' if charset_meta else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head>{meta}
<title>{ARTICLE_TITLE}</title>
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2022-10-20T08:30:00+00:00">
</head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/sport">Sport</a></nav>
<article><h1>{ARTICLE_TITLE}</h1>
{paragraphs}
</article>
<footer>Example News. All rights reserved.</footer>
</body></html>"""


def make_pdf(pages: list[str], *, title: str = "", author: str = "") -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page and an Info dictionary."""

    def literal(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    kids = " ".join(f"{4 + 2 * index} 0 R" for index in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({literal(text)}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(
        f"<< /Title ({literal(title)}) /Author ({literal(author)}) "
        f"/CreationDate (D:20221020083000Z) >>".encode("latin-1")
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)
