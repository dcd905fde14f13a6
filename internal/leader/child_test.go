package leader

func childMain() bool { return false }
