"""The benchmark of `rag`: cold start, warm latency, indexing, scale and the language models.

Run through its two entry points, `scripts/bench.py` (the article and the synthetic scale tiers,
`run`) and `scripts/bench_llm.py` (the generative path, `llm`); each re-runs its entry point in
fresh child processes for the measurements that need one. The parts:

- `common`: paths, timed child processes (wall time, peak RSS), statistics, the machine;
- `workers`: what the article's children measure (embedding rate, warm serving, flat vs HNSW);
- `tiers`: the synthetic scale tiers (corpus, index build, serving);
- `run`: the article's measurements, the tiers in order, the command line of scripts/bench.py;
- `report`: results.json as tables and notes, and the scale plot;
- `llm`, `llm_measure`: the language-model benchmark and what one of its children measures;
- `blocks`: the one writer of generated blocks in README.md or docs/*.md.

Follow-up gold questions are asked as `rag eval` asks them (rag.evaluation.replay), their earlier
questions answered by the system itself, outside the timings.
"""
