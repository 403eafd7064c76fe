"""Vetting a model's chat template before any question is asked of it.

A GGUF file carries its own Jinja chat template, which llama-cpp-python renders (in Jinja's
sandbox) for every prompt. The sandbox stops escapes, not work: nested `range(100000)` loops
never finish, and `{{ 'x' * 3000000000 }}` asks for gigabytes. `vet_chat_template` therefore
renders the template once at load time, in a separate process limited to RENDER_SECONDS and
RENDER_MEMORY_BYTES, with a conversation shaped like ours (a system message, a long user message
with paragraphs, a question), and accepts it only if it gives back a prompt under
MAX_PROMPT_CHARS. Otherwise the model is refused in one line.

Not done: bounding later renders in-process — a template that behaves on this conversation but
not on another would still run unbounded. Templates written to detect the probe are out of scope.
"""

from __future__ import annotations

import json
import subprocess
import sys

from rag.errors import ModelError

RENDER_SECONDS = 10
RENDER_MEMORY_BYTES = 1 << 30
MAX_PROMPT_CHARS = 1 << 20
_PROBE = [
    {"role": "system", "content": "Answer from the article below. Cite paragraphs."},
    {"role": "user", "content": "Article:\n" + "[A] A paragraph of the article. " * 120},
    {"role": "user", "content": "Question: who nominated the prime minister?"},
]

# Run in the child: limit its memory, render as llama-cpp-python does, print the prompt's size.
_CHILD = """
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
job = json.loads(sys.stdin.read())
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
formatter = Jinja2ChatFormatter(job["template"], eos_token=job["eos"], bos_token=job["bos"])
prompt = formatter(messages=job["messages"]).prompt
print(json.dumps({"chars": len(prompt)}))
"""


def vet_chat_template(template: str, *, bos: str, eos: str, model: str) -> None:
    """ModelError unless `template` renders our kind of conversation quickly and compactly."""
    job = json.dumps({"template": template, "bos": bos, "eos": eos, "messages": _PROBE})
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(RENDER_MEMORY_BYTES)],
            input=job,
            capture_output=True,
            text=True,
            timeout=RENDER_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise ModelError(
            f"the chat template of model {model} did not render in {RENDER_SECONDS} s; refusing it"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if "MemoryError" in done.stderr:
            last = f"needs more than {RENDER_MEMORY_BYTES >> 20} MiB"
        raise ModelError(f"the chat template of model {model} cannot be used ({last[:200]})")
    try:
        result = json.loads(done.stdout)
    except ValueError:
        raise ModelError(f"the chat template of model {model} could not be checked") from None
    if result["chars"] > MAX_PROMPT_CHARS:
        raise ModelError(
            f"the chat template of model {model} makes a prompt of {result['chars']:,} characters "
            "from a short conversation; refusing it"
        )
