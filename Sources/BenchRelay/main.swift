print("BenchRelay: not written yet")
