print("BenchCore: not written yet")
