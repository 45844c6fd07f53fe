print("BenchAgent: not written yet")
