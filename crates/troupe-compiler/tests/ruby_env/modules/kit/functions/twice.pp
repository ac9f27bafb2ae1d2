function kit::twice(String $s) >> String {
  "${s}${s}"
}
