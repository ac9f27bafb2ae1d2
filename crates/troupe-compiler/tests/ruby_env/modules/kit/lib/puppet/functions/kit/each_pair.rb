# Hands each pair of a hash to the Puppet lambda it was given.
Puppet::Functions.create_function(:'kit::each_pair') do
  dispatch :each_pair do
    param 'Hash', :h
    block_param 'Callable[2,2]', :blk
  end

  def each_pair(h)
    h.sort.map { |k, v| yield(k, v) }
  end
end
