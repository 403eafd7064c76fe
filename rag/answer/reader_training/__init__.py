"""Training the cross-encoder reader (`rag train-reader`): data, synthetic questions, training,
export and the card. The only modules of `rag` importing torch and transformers for training;
the run-time reader (rag.answer.cross_encoder_reader) never imports them."""
