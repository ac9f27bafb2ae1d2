function acme::upcase_all(Array[String] $words) >> String {
  $words.map |$w| { upcase($w) }.join(' ')
}
