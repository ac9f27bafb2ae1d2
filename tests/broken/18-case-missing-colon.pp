case $facts["os"]["family"] {
  "Debian": { $pkg = "apache2" }
  default { $pkg = "httpd" }
}
