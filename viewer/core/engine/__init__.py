"""The engine: one frame in, one finished Result out; the traced network; the inference worker
threads.
"""
