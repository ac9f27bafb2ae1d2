class app {
  $x = 1
  $x
}
