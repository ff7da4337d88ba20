global using Xunit;

