service { "sshd":
  ensure = running,
}
