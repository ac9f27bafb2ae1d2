$servers = [
  "a.example.test",
  "b.example.test",
