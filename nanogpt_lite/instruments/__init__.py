"""The chapters' measuring instruments: tools that look at the model, the data and the gradients.

They are not part of nanoGPT. The package's top level (``nanogpt_lite``) holds what nanoGPT has:
data, tokenizer, model, sampling, training; this sub-package holds what the chapters measure it with.
"""
