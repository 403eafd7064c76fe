"""The web chat (`rag serve`): a Gradio app over `rag.Pipeline`.

`rag_web.render` turns answers and articles into escaped HTML, `rag_web.app` builds the Gradio
app, `rag_web.guard` holds the server-side limits, and `rag_web.cli` plugs the `serve` command
into `rag` through the `rag.commands` entry point. Only this package imports gradio (the `[web]`
extra); the `rag` library never imports it.
"""
