package a

func TestHelper() {}
