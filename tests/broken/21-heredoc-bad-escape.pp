$text = @(END/x)
  text
  END
