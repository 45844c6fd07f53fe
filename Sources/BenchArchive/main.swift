print("BenchArchive: not written yet")
