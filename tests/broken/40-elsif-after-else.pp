if $a {
  notice(1)
} else {
  notice(2)
} elsif $b {
  notice(3)
}
