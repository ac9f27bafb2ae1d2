if $facts["x"] {
  class nested {
  }
}
