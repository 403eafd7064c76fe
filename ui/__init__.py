"""The web chat (`rag serve`): a Gradio app over `rag.pipeline.Pipeline`.

`ui.render` turns answers and articles into escaped HTML, `ui.app` builds the Gradio app, and
`ui.cli` plugs the `serve` command into `rag` through the `rag.commands` entry point. Only this
package imports gradio; the `rag` library never imports it.
"""
