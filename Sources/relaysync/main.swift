print("relaysync")
