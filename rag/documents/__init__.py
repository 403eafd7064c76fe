"""Documents: a source file read into paragraphs with roles (headline, standfirst, caption,
subheading, body, dateline) and sentences with character offsets (parse), and the passages the
index embeds and searches (passages).

Not here: embedding or storing them (rag.index), or deciding what a paragraph answers.
"""
