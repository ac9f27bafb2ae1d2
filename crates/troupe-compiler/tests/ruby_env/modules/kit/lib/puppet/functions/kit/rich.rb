# Returns values that plain JSON cannot carry.
Puppet::Functions.create_function(:'kit::rich') do
  def rich
    {
      'numbered' => { 1 => 'one', 2 => 'two' },
      'secret' => Puppet::Pops::Types::PSensitiveType::Sensitive.new('hunter2'),
      'type' => Puppet::Pops::Types::TypeParser.singleton.parse('Optional[Array[String[1]]]'),
      'holes' => [nil, 'x', :undef],
      'version' => SemanticPuppet::Version.parse('1.2.3'),
      'default' => :default,
    }
  end
end
