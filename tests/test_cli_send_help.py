"""`mailspec send --help` says how an attachment is written in a --file: its content is
base64, and the example given decodes and sends."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from test_cli_errors import mailspec_cli


def test_the_help_says_attachment_content_is_base64() -> None:
    done = mailspec_cli("send", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # argparse wraps the help
    assert '{"filename": ..., "content": BASE64, "content_type": ...}' in text
    assert "content is the file's bytes in base64" in text


def test_a_file_written_as_the_help_says_is_sent(tmp_path: Path) -> None:
    message = {
        "from_email": "shop@example.com",
        "to": ["ann@example.org"],
        "subject": "Your invoice",
        "html": "<p>Attached</p>",
        "attachments": [
            {
                "filename": "invoice.txt",
                "content": base64.b64encode(b"total: 42").decode(),
                "content_type": "text/plain",
            }
        ],
    }
    path = tmp_path / "message.json"
    path.write_text(json.dumps(message), encoding="utf-8")
    done = mailspec_cli("send", "--sandbox", "--file", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("accepted by ")
