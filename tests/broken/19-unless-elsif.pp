unless $x {
  notice(1)
} elsif $y {
  notice(2)
}
