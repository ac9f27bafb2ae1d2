notify { "greeting":
  message => "hello world,
}
