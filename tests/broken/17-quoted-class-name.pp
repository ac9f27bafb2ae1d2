class 'web' {
}
