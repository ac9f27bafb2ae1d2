# Fails through the compile's own `fail`.
Puppet::Functions.create_function(:'kit::guard') do
  def guard(x)
    call_function('fail', "guard: #{x}")
  end
end
