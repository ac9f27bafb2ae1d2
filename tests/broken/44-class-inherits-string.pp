class a inherits 'b' {
}
