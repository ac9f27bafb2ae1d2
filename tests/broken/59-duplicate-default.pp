case $x {
  "a": { }
  default: { }
  default: { }
}
