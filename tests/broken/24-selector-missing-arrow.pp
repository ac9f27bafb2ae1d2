$pkg = $facts["os"]["family"] ? {
  "Debian" => "apache2",
  default "httpd",
}
