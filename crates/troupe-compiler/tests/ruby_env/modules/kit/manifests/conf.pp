class kit::conf {
  $var = 'from-class'
}
