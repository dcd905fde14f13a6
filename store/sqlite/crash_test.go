package sqlite

func crashChildMain() {}
