$text = @(END)
  some text
  more text
ENDX
