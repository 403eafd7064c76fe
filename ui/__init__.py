"""The web chat (`rag serve`): a Gradio app over `rag.Pipeline`.

`ui.render` turns answers and articles into escaped HTML, `ui.app` builds the Gradio
app, `ui.library` its library panel (documents added and removed), `ui.server` serves it,
`ui.guard` holds the server-side limits, and `ui.cli` plugs the `serve` command
into `rag` through the `rag.commands` entry point. Only this package imports gradio (the `[web]`
extra); the `rag` library never imports it.
"""
