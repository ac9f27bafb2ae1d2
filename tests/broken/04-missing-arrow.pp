package { "nginx":
  ensure installed,
}
